package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects what goroutines write at once (serve's logs).
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestDemoWalksBothLanguages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var out bytes.Buffer
	var errs lockedBuffer
	if err := run(ctx, []string{"demo"}, &out, &errs, envOf(nil)); err != nil {
		t.Fatalf("demo: %v\n%s\nstderr:\n%s", err, out.String(), errs.String())
	}
	for _, want := range []string{
		`[en] mail in: "The VPN drops every few minutes" from demo@intakebot.local to helpdesk@intakebot.local`,
		"[en] INC-000001 registered (email, P3, category network, language en)",
		"[en] acknowledgment received: [INC-000001] We have registered your incident: The VPN drops every few minutes",
		"[en] validation question received: [INC-000001] Is the service working again?",
		`[en] reply: "No, it still fails"`,
		"[en] INC-000001 back in analysis (reopened 1 time)",
		"[en] reopened notice received: [INC-000001] We are working on it again",
		`[en] reply: "Yes, it works now"`,
		"[en] satisfaction survey received: [INC-000001] How did we do?",
		"[en] INC-000001 in review (rating 4/5)",
		"[en] closure notice received: [INC-000001] Incident closed",
		"[en] INC-000001 closed",
		`[es] mail in: "No me funciona el correo desde esta mañana"`,
		"[es] INC-000002 registered (email, P3, category email, language es)",
		"[es] acknowledgment received: [INC-000002] Hemos registrado su incidencia: No me funciona el correo desde esta mañana",
		"[es] validation question received: [INC-000002] ¿Vuelve a funcionar el servicio?",
		`[es] reply: "No, sigue fallando"`,
		"[es] INC-000002 back in analysis (reopened 1 time)",
		"[es] reopened notice received: [INC-000002] Volvemos a trabajar en ello",
		`[es] reply: "Sí, ya funciona"`,
		"[es] satisfaction survey received: [INC-000002] ¿Qué tal lo hemos hecho?",
		"[es] INC-000002 in review (rating 5/5)",
		"[es] closure notice received: [INC-000002] Incidencia cerrada",
		"[es] INC-000002 closed",
		"demo finished: INC-000001 (en) and INC-000002 (es) went from mail to closed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo did not print %q", want)
		}
	}
	if t.Failed() {
		t.Logf("demo printed:\n%s", out.String())
	}
}

func TestDemoTakesNoArguments(t *testing.T) {
	_, err := cli(nil, "demo", "extra")
	if _, ok := err.(usageError); !ok {
		t.Fatalf("demo extra: %v, want a usage error", err)
	}
}
