package redisstore_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// printerReport registers a report the seed knowledge base, with an
// internal article and a known error (withKB), has suggestions for.
func printerReport(t *testing.T, f *fixture) *intake.Incident {
	t.Helper()
	withKB(t, f)
	return must(t)(f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: "The printer jams",
		Description: "The printer jams on every page, paper stuck in the tray",
		Reporter:    intake.Reporter{Name: "Ann", Email: "ann@example.test", Language: intake.English}}))
}

// The compact form keeps everything the console, the API and the
// acknowledgment use (kind, id, title, lang, public, score, terms), in
// well under the bytes the list of objects took.
func TestSuggestionsStoredCompactlyAndWhole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inc := printerReport(t, f)
	kinds := map[string]bool{}
	for _, s := range inc.Suggestions {
		kinds[s.Kind] = true
	}
	if len(inc.Suggestions) < 3 || !kinds[intake.SuggestArticle] || !kinds[intake.SuggestKnownError] {
		t.Fatalf("registered %+v: want articles and a known error", inc.Suggestions)
	}
	got := must(t)(f.engine.Get(ctx, inc.ID))
	if !reflect.DeepEqual(got.Suggestions, inc.Suggestions) {
		t.Fatalf("stored %+v\nregistered %+v", got.Suggestions, inc.Suggestions)
	}
	field, err := f.rdb.HGet(ctx, incidentHash(t, f, inc.ID), "suggestions").Result()
	if err != nil {
		t.Fatal(err)
	}
	former, err := json.Marshal(inc.Suggestions)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", field)
	t.Logf("%d suggestions: %d bytes stored, %d as the former list of objects", len(inc.Suggestions), len(field), len(former))
	if len(field)*10 > len(former)*7 {
		t.Errorf("stored %d bytes, not 30%% under the former %d: %s", len(field), len(former), field)
	}
}

// Incidents stored before keep the former form (a list of objects): it
// still reads, whole.
func TestSuggestionsInTheFormerFormStillRead(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inc := printerReport(t, f)
	former := []intake.Suggestion{
		{Kind: intake.SuggestArticle, ID: "printer-jam", Title: "Printer jams", Lang: intake.English, Public: true, Score: 2.75, Terms: []string{"printer", "jam"}},
		{Kind: intake.SuggestKnownError, ID: "KE-000001", Title: "Known error: printer jams", Lang: intake.English, Score: 1.5},
	}
	doc, err := json.Marshal(former)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.HSet(ctx, incidentHash(t, f, inc.ID), "suggestions", string(doc)).Err(); err != nil {
		t.Fatal(err)
	}
	got := must(t)(f.engine.Get(ctx, inc.ID))
	if !reflect.DeepEqual(got.Suggestions, former) {
		t.Fatalf("read %+v, want %+v", got.Suggestions, former)
	}
	if offered := got.ReporterSuggestions(1); len(offered) != 1 || offered[0].ID != "printer-jam" {
		t.Fatalf("offered %+v", offered)
	}
}

// A field neither form reads is a clear error naming the field, not
// suggestions silently lost.
func TestSuggestionsFieldUnreadableIsAClearError(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inc := printerReport(t, f)
	for _, bad := range []string{`[["printer-jam","Printer jams","en",1,2.75]]`, `[["printer-jam","Printer jams","en",2,2.75,""]]`,
		`[["printer-jam",7,"en",1,2.75,""]]`, `{"id":"x"}`, `[{"id":`} {
		if err := f.rdb.HSet(ctx, incidentHash(t, f, inc.ID), "suggestions", bad).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.engine.Get(ctx, inc.ID); err == nil || !strings.Contains(err.Error(), "suggestions") {
			t.Errorf("%s: error %v, want one naming the suggestions field", bad, err)
		}
	}
}
