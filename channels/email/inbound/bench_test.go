package inbound_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/intakebot/intakebot/channels/email/inbound"
	"github.com/intakebot/intakebot/channels/email/message"
	"github.com/intakebot/intakebot/channels/email/quote"
)

func reportMail(i int64) string {
	body := strings.Repeat("Since this morning Outlook keeps asking for my password and then shows "+
		"a spinning wheel. I restarted the laptop twice and cleared the credentials, nothing changed. "+
		"Colleagues in the same office are fine.\n\n", 10)
	return mail(fmt.Sprintf("User %d <user%d@example.test>", i, i), fmt.Sprintf("Outlook asks for my password (%d)", i),
		fmt.Sprintf("bench-%d@example.test", i), "", body+"Best regards,\nUser")
}

// BenchmarkProcess measures one new 3 KB report, from raw bytes to a stored
// outcome, with 16 mails in flight.
func BenchmarkProcess(b *testing.B) {
	e := newEnv(b, nil)
	var n atomic.Int64
	raws := make([][]byte, b.N+64)
	for i := range raws {
		raws[i] = []byte(reportMail(int64(i)))
	}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := e.proc.Process(context.Background(), inbound.Source{Mailbox: "m", UIDValidity: 1, UID: uint32(i)}, raws[i]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkParse and BenchmarkVisible measure the CPU part alone.
func BenchmarkParse(b *testing.B) {
	raw := []byte(reportMail(1))
	for b.Loop() {
		if _, err := message.Parse(raw, message.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVisible(b *testing.B) {
	m, _ := message.Parse([]byte(reportMail(1)), message.Options{})
	for b.Loop() {
		quote.Visible(m.Text)
	}
}

// BenchmarkProcessBatch measures new 3 KB reports handed over 500 at a
// time with 16 workers, as the mailbox watcher does; per mail.
func BenchmarkProcessBatch(b *testing.B) {
	e := newEnv(b, nil)
	const size = 500
	var next int64
	b.ResetTimer()
	for done := 0; done < b.N; done += size {
		b.StopTimer()
		items := make([]inbound.Item, min(size, b.N-done))
		for i := range items {
			next++
			items[i] = inbound.Item{Source: inbound.Source{Mailbox: "m", UIDValidity: 1, UID: uint32(next)}, Raw: []byte(reportMail(next))}
		}
		b.StartTimer()
		_, errs := e.proc.ProcessBatch(context.Background(), items, 16)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
