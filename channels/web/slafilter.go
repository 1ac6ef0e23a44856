package web

import (
	"context"

	"github.com/intakebot/intakebot/intake"
)

// slaScan bounds how many incidents one filtered page reads: SLA flags
// have no index, so the filter reads the list and keeps the matching ones.
// A page may then hold fewer than its limit, with a cursor to go on.
const slaScan = 1000

// listBySLA is a page of the incidents whose SLA status (intake.SLAStatus)
// is status, read through the unfiltered list.
func listBySLA(ctx context.Context, l Lister, f intake.ListFilter, status string) (intake.Page, error) {
	page := intake.Page{Incidents: []*intake.Incident{}} // [] in JSON, never null
	want := f.Limit
	for scanned := 0; ; {
		f.Limit = min(max(want, 100), slaScan-scanned)
		batch, err := l.List(ctx, f)
		if err != nil {
			return intake.Page{}, err
		}
		scanned += len(batch.Incidents)
		for _, inc := range batch.Incidents {
			if inc.SLAStatus() != status {
				continue
			}
			if len(page.Incidents) == want {
				// One more matches: the page is full and the next one
				// starts after the last incident on this one.
				n, _ := intake.ParseID(page.Incidents[want-1].ID)
				page.Next = n
				return page, nil
			}
			page.Incidents = append(page.Incidents, inc)
		}
		if batch.Next == 0 {
			return page, nil
		}
		if scanned >= slaScan {
			page.Next = batch.Next
			return page, nil
		}
		f.Before = batch.Next
	}
}
