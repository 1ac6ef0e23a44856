package console_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
)

// Words the generated incidents are written in (EN and ES, as reporters
// write them), and a few rare ones a search looks for.
var (
	benchWords = strings.Fields(`printer impresora vpn correo outlook email network red wifi laptop portátil
		screen pantalla password contraseña account cuenta server servidor slow lento error fallo crash cuelga
		login acceso disk disco update actualización teams meeting reunión phone teléfono license licencia
		backup copia office oficina toner tóner scanner escáner keyboard teclado mouse ratón battery batería`)
	benchRare = []string{"zebra", "quórum", "xylophone"}
)

// BenchmarkConsole100k measures the console's request times with 100,000
// incidents (INTAKEBOT_BENCH_INCIDENTS to change) in a throwaway Redis:
// the queue page (50 rows) unfiltered and with each single filter, the
// search, the incident page, and a change until a second open console's
// event stream (SSE) tells it. Times are taken at the client over
// loopback, so they hold the server's time and a little more. Run with
// scripts/bench-console; it prints p50 and p95 per case.
func BenchmarkConsole100k(b *testing.B) {
	n := 100_000
	if v := os.Getenv("INTAKEBOT_BENCH_INCIDENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	f := newFixture(b)
	ctx := context.Background()
	// Redis settings that keep 100,000 incidents small (README, Memory).
	f.rdb.ConfigSet(ctx, "hash-max-listpack-value", "1024")
	f.rdb.ConfigSet(ctx, "stream-node-max-bytes", "512")
	start := time.Now()
	ids := loadIncidents(b, f, n)
	fmt.Printf("loaded %d incidents in %s; redis %s\n", n, time.Since(start).Round(time.Second), usedMemory(b, f))

	c := f.client()
	c.login("alice", password)
	rng := rand.New(rand.NewPCG(1, 2))
	measure := func(name string, times int, path func() string) {
		var d []time.Duration
		for range times {
			p := path()
			t0 := time.Now()
			resp, page := c.do("GET", p, nil)
			d = append(d, time.Since(t0))
			if resp.StatusCode != http.StatusOK || (strings.HasPrefix(p, "/console/?") && !strings.Contains(page, "<table")) {
				b.Fatalf("%s: %d\n%s", p, resp.StatusCode, page)
			}
		}
		report(name, d)
	}
	const times = 200
	for _, q := range []string{"", "state=analysis", "priority=P2", "group=networks", "owner=me", "owner=none",
		"channel=slack", "sla=warning", "sla=breached", "state=closed&priority=P1"} {
		measure("queue "+cmpOr(q, "(no filter)"), times, func() string { return "/console/?" + q })
	}
	for _, q := range []string{"impresora", "printer error", "zebra", "contraseña lento", "actualiz", "vpn correo outlook"} {
		measure("search "+q, times, func() string { return "/console/?q=" + url.QueryEscape(q) })
	}
	measure("search + owner=none + sla=breached", times, func() string { return "/console/?q=printer&owner=none&sla=breached" })
	measure("incident page", times, func() string { return "/console/incidents/" + ids[rng.IntN(len(ids))] })

	// Live: a change made elsewhere until the second console's stream
	// names it.
	req, _ := http.NewRequest("GET", f.srv.URL+"/console/events", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	stream := bufio.NewReader(resp.Body)
	if line, _ := stream.ReadString('\n'); line != ": live\n" {
		b.Fatalf("events: first line %q", line)
	}
	alice := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "console"}
	var live []time.Duration
	for i := range 100 {
		id := ids[len(ids)-1-i] // open incidents, never closed by the load
		t0 := time.Now()
		if _, err := f.engine.AddAction(ctx, id, alice, "checked the cable"); err != nil {
			b.Fatal(err)
		}
		for {
			line, err := stream.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(line, "data: "+id+" ") {
				break
			}
		}
		live = append(live, time.Since(t0))
	}
	report("live: change → second console's SSE", live)
}

func cmpOr(s, or string) string {
	if s == "" {
		return or
	}
	return s
}

func report(name string, d []time.Duration) {
	slices.Sort(d)
	p := func(q float64) string {
		return fmt.Sprintf("%.2f ms", float64(d[int(q*float64(len(d)-1))].Microseconds())/1000)
	}
	fmt.Printf("%-40s n=%d p50 %s p95 %s\n", name, len(d), p(0.5), p(0.95))
}

// loadIncidents stores n generated incidents with the batch path, without
// change notices (the consoles would reload 100,000 times), and flags a
// tenth of the open ones for SLA; it returns the ids, oldest first. The last 1,000 are
// open and unowned.
func loadIncidents(b *testing.B, f *fixture, n int) []string {
	ctx := context.Background()
	store := redisstore.New(f.rdb, f.prefix, intake.RouteEmail)
	rng := rand.New(rand.NewPCG(3, 4))
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = benchWords[rng.IntN(len(benchWords))]
		}
		if rng.IntN(1000) == 0 {
			w[0] = benchRare[rng.IntN(len(benchRare))]
		}
		return strings.Join(w, " ")
	}
	channels := []intake.Channel{intake.ChannelEmail, intake.ChannelEmail, intake.ChannelSlack, intake.ChannelWeb, intake.ChannelPhone}
	states := []intake.State{intake.Closed, intake.Closed, intake.Closed, intake.Analysis, intake.Analysis, intake.Solution, intake.Review}
	owners := []string{"", "", "alice", "bob", "carol"}
	var ids, open []string
	now := time.Now()
	const batch = 1000
	for done := 0; done < n; done += batch {
		var keys []string
		var incs []*intake.Incident
		for i := done; i < min(n, done+batch); i++ {
			inc := &intake.Incident{
				Channel: channels[rng.IntN(len(channels))], Subject: words(5), Description: words(25),
				Reporter: intake.Reporter{Name: "Ana", Email: fmt.Sprintf("user%d@example.test", i%5000), Language: intake.Spanish},
				Impact:   intake.Medium, Urgency: intake.Medium, Priority: intake.Priority("P" + strconv.Itoa(1+rng.IntN(5))),
				Group: []string{"service-desk", "networks"}[rng.IntN(2)], Level: 1, Category: "general",
				State: states[rng.IntN(len(states))], Owner: owners[rng.IntN(len(owners))],
				ReportedAt: now, RegisteredAt: now,
			}
			if i >= n-1000 {
				inc.State, inc.Owner = intake.Analysis, ""
			}
			keys, incs = append(keys, fmt.Sprintf("bench:%d", i)), append(incs, inc)
		}
		out, errs := store.CreateMany(ctx, keys, incs, nil)
		for i, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, out[i].ID)
			if incs[i].State != intake.Closed {
				open = append(open, out[i].ID)
			}
		}
	}
	engine := workflow.NewEngine(store, nil, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	sla := intake.Actor{Kind: intake.ActorSystem, Name: "sla"}
	for i, id := range open[:len(open)-1000] {
		switch i % 20 {
		case 1:
			_, err := engine.Flag(ctx, id, sla, workflow.FlagResponseWarning, "")
			if err != nil {
				b.Fatal(err)
			}
		case 2:
			_, err := engine.Flag(ctx, id, sla, workflow.FlagResolutionBreach, "")
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	return ids
}

func usedMemory(b *testing.B, f *fixture) string {
	info, err := f.rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "used_memory_human:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
