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
