package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

// ids lists a filter's matches, newest first, through every page of size
// per page.
func ids(t *testing.T, f *fixture, fl intake.ListFilter, per int) []string {
	t.Helper()
	var out []string
	fl.Limit = per
	for pages := 0; ; pages++ {
		page, err := f.store.List(context.Background(), fl)
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range page.Incidents {
			out = append(out, inc.ID)
		}
		if page.Next == 0 {
			return out
		}
		if pages > 1000 {
			t.Fatalf("%+v: no end of pages", fl)
		}
		fl.Before = page.Next
	}
}

func report(t *testing.T, f *fixture, ch intake.Channel, lang intake.Lang, subject, description string) string {
	t.Helper()
	inc, err := f.engine.Register(context.Background(), intake.Report{Channel: ch, Subject: subject, Description: description,
		Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test", Language: lang}})
	if err != nil {
		t.Fatal(err)
	}
	return inc.ID
}

func TestSearchFoldsAccentsCaseAndStemsInEnglishAndSpanish(t *testing.T) {
	f := newFixture(t)
	printES := report(t, f, intake.ChannelEmail, intake.Spanish, "Error de impresion", "La impresora de la planta 2 no imprime nada.")
	printEN := report(t, f, intake.ChannelEmail, intake.English, "Printers offline", "Every printer on floor 3 shows an error.")
	vpn := report(t, f, intake.ChannelSlack, intake.Spanish, "VPN caída", "No puedo conectar desde casa.")
	mail := report(t, f, intake.ChannelWeb, intake.English, "Mailbox full", "Outlook says my mailbox is over its quota.")
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"impresión", []string{printES}},                    // accent folded: the text has none
		{"impresoras", []string{printES}},                   // Spanish plural finds the singular
		{"IMPRESORA", []string{printES}},                    // case folded
		{"printer", []string{printEN}},                      // English plural in the text
		{"printing errors", []string{printEN}},              // every word, each stemmed
		{"error", []string{printEN, printES}},               // both languages, newest first
		{"vpn caida", []string{vpn}},                        // the text's accent folded
		{"CAÍDA", []string{vpn}},                            // the query's
		{"impresora vpn", nil},                              // every word must match
		{"mailb", []string{mail}},                           // the last word as a prefix
		{"outlook quot", []string{mail}},                    // ... after whole words
		{"mail outlook", nil},                               // only the last word is a prefix
		{"la de el", []string{mail, vpn, printEN, printES}}, // only stop words: no text filter
	} {
		got := ids(t, f, intake.ListFilter{Query: c.query}, 50)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("search %q: %v, want %v", c.query, got, c.want)
		}
	}
}

func TestSearchPagesNewestFirst(t *testing.T) {
	f := newFixture(t)
	var want []string
	for i := range 23 {
		id := report(t, f, intake.ChannelEmail, intake.English, fmt.Sprintf("printer %d jammed", i), "")
		report(t, f, intake.ChannelEmail, intake.English, fmt.Sprintf("vpn %d down", i), "")
		want = append([]string{id}, want...)
	}
	for _, budget := range []int{400, 1} {
		f.store.SetPageBudget(budget)
		if got := ids(t, f, intake.ListFilter{Query: "jam"}, 5); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("budget %d: paged %v, want %v", budget, got, want)
		}
	}
}

func TestCommentWordsBecomeSearchable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := report(t, f, intake.ChannelEmail, intake.Spanish, "No imprime", "La impresora no responde.")
	if got := ids(t, f, intake.ListFilter{Query: "tóner"}, 10); len(got) != 0 {
		t.Fatalf("before the comment: %v", got)
	}
	if _, err := f.engine.Comment(ctx, id, reporter, "Creo que se acabó el TONER de la impresora"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"tóner", "toner impresora", "acabo", "no imprime toner"} {
		if got := ids(t, f, intake.ListFilter{Query: q}, 10); fmt.Sprint(got) != fmt.Sprint([]string{id}) {
			t.Errorf("search %q after the comment: %v, want [%s]", q, got, id)
		}
	}
}

func TestArchivedIncidentsLeaveTheIndexes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := report(t, f, intake.ChannelPhone, intake.English, "Zebra label printer", "Prints blank labels.")
	if _, err := f.engine.Comment(ctx, old, reporter, "Xylophone noises from the printer"); err != nil {
		t.Fatal(err)
	}
	flagger(t, f)(old, workflow.FlagResolutionWarning)
	closeIncident(t, f, old)
	f.clock.Add(500 * 24 * time.Hour)
	keep := report(t, f, intake.ChannelPhone, intake.English, "Label printer", "")
	if got := ids(t, f, intake.ListFilter{Query: "zebra"}, 10); fmt.Sprint(got) != fmt.Sprint([]string{old}) {
		t.Fatalf("before the archive: %v", got)
	}
	res, err := f.store.Archiver(t.TempDir(), 400*24*time.Hour, f.clock.Now).Run(ctx)
	if err != nil || res.Archived != 1 {
		t.Fatalf("archive: %+v, %v", res, err)
	}
	for _, fl := range []intake.ListFilter{{Query: "zebra"}, {Query: "xylophone"}, {Query: "zeb"}, {Channel: "phone", Query: "label"}} {
		got := ids(t, f, fl, 10)
		if fl.Query == "zebra" || fl.Query == "xylophone" || fl.Query == "zeb" {
			if len(got) != 0 {
				t.Errorf("%+v after the archive: %v", fl, got)
			}
		} else if fmt.Sprint(got) != fmt.Sprint([]string{keep}) {
			t.Errorf("%+v after the archive: %v, want [%s]", fl, got, keep)
		}
	}
	// Nothing of it is left in any index, and its own terms (zebra,
	// xylophone) leave the shard's dictionary.
	keys, err := redistest.Keys(ctx, f.rdb, f.prefix+":*")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, old) || strings.Contains(k, "zebra") || strings.Contains(k, "xylophon") {
			t.Errorf("key %s left after the archive", k)
		}
		switch f.rdb.Type(ctx, k).Val() {
		case "zset":
			if _, err := f.rdb.ZScore(ctx, k, old).Result(); err != redis.Nil {
				t.Errorf("%s still holds %s", k, old)
			}
			if strings.HasSuffix(k, ":idx:terms") {
				for _, term := range []string{"zebra", "xylophon"} {
					if _, err := f.rdb.ZScore(ctx, k, term).Result(); err != redis.Nil {
						t.Errorf("dictionary %s still holds %s", k, term)
					}
				}
			}
		}
	}
}

// flagger marks incidents as the SLA timers do.
func flagger(t *testing.T, f *fixture) func(id, flag string) {
	return func(id, flag string) {
		t.Helper()
		if _, err := f.engine.Flag(context.Background(), id, intake.Actor{Kind: intake.ActorSystem, Name: "sla"}, flag, "test"); err != nil {
			t.Fatal(err)
		}
	}
}

// The channel, SLA and unassigned filters, alone and with every other
// filter and a search, give what checking each incident gives, on both of
// page.lua's ways (walking, and the intersection in Redis).
func TestQueueFiltersCombine(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	flag := flagger(t, f)
	channels := []intake.Channel{intake.ChannelEmail, intake.ChannelPhone, intake.ChannelSlack}
	subjects := []string{"printer jam", "vpn caída", "urgent: impresora caída for everyone"}
	var all []string
	for i := range 60 {
		id := report(t, f, channels[i%3], intake.English, subjects[i%len(subjects)], fmt.Sprintf("case %d", i))
		all = append(all, id)
		if i%4 == 0 {
			if _, err := f.engine.Assign(ctx, id, alice, "bob", ""); err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 1 && i%4 != 0 {
			if _, err := f.engine.AddAction(ctx, id, alice, "looking"); err != nil {
				t.Fatal(err)
			}
		}
		switch i % 7 {
		case 0, 1:
			flag(id, workflow.FlagResponseWarning)
		case 2:
			flag(id, workflow.FlagResponseWarning)
			flag(id, workflow.FlagResolutionBreach)
		case 3:
			flag(id, workflow.FlagResolutionBreach)
			flag(id, workflow.FlagResolutionWarning) // a breach stays the worst
		}
		if i%9 == 0 && i%4 != 0 {
			closeIncident(t, f, id) // closed: off the SLA lists
		}
	}
	incs := map[string]*intake.Incident{}
	for _, id := range all {
		incs[id] = must(t)(f.store.Get(ctx, id))
	}
	match := func(inc *intake.Incident, fl intake.ListFilter) bool {
		sla := inc.SLAStatus()
		if inc.State == intake.Closed {
			sla = intake.SLAOK
		}
		text := strings.ToLower(inc.Subject)
		return (fl.Channel == "" || string(inc.Channel) == fl.Channel) &&
			(fl.SLA == "" || sla == fl.SLA) &&
			(!fl.Unassigned || inc.Owner == "") &&
			(fl.Owner == "" || inc.Owner == fl.Owner) &&
			(fl.State == "" || string(inc.State) == fl.State) &&
			(fl.Priority == "" || string(inc.Priority) == fl.Priority) &&
			(fl.Query == "" || strings.Contains(text, strings.TrimSuffix(fl.Query, "s")))
	}
	checked, nonEmpty := 0, 0
	for _, ch := range []string{"", "email", "phone"} {
		for _, sla := range []string{"", intake.SLAWarning, intake.SLABreached} {
			for _, un := range []bool{false, true} {
				for _, other := range []intake.ListFilter{{}, {Owner: "bob"}, {Owner: "alice"}, {State: "closed"}, {State: "analysis"}, {Priority: "P3"}, {Query: "printers"}, {Query: "impresora"}} {
					fl := other
					fl.Channel, fl.SLA, fl.Unassigned = ch, sla, un
					var want []string
					for i := len(all) - 1; i >= 0; i-- {
						if match(incs[all[i]], fl) {
							want = append(want, all[i])
						}
					}
					for _, budget := range []int{400, 1} {
						f.store.SetPageBudget(budget)
						if got := ids(t, f, fl, 4); !slices.Equal(got, want) {
							t.Errorf("%+v, budget %d: %v, want %v", fl, budget, got, want)
						}
					}
					checked++
					if len(want) > 0 {
						nonEmpty++
					}
				}
			}
		}
	}
	if nonEmpty < checked/3 {
		t.Errorf("only %d of %d filters match anything: the test proves little", nonEmpty, checked)
	}
}

// tagHook records each script call whose keys span more than one hash tag:
// on Redis Cluster such a call fails (CROSSSLOT), so the search and
// filter indexes must stay under their shard's tag.
type tagHook struct {
	mu      sync.Mutex
	scripts int
	crossed []string
}

func (h *tagHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *tagHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.check(cmd)
		return next(ctx, cmd)
	}
}

func (h *tagHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			h.check(c)
		}
		return next(ctx, cmds)
	}
}

func (h *tagHook) check(cmd redis.Cmder) {
	args := cmd.Args()
	if name := strings.ToLower(cmd.Name()); (name != "evalsha" && name != "eval") || len(args) < 3 {
		return
	}
	n, _ := args[2].(int)
	tags := map[string]bool{}
	for _, k := range args[3 : 3+n] {
		key := fmt.Sprint(k)
		open := strings.IndexByte(key, '{')
		end := strings.IndexByte(key[open+1:], '}')
		if open < 0 || end < 1 {
			tags["(no tag) "+key] = true
			continue
		}
		tags[key[open+1:open+1+end]] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.scripts++
	if len(tags) > 1 {
		h.crossed = append(h.crossed, fmt.Sprint(args[3:3+n]))
	}
}

func TestSearchAndFilterKeysShareTheShardsHashTag(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := &tagHook{}
	f.rdb.AddHook(h)
	id := report(t, f, intake.ChannelEmail, intake.Spanish, "Impresora caída", "No imprime")
	if _, err := f.engine.Comment(ctx, id, reporter, "sigue sin tóner"); err != nil {
		t.Fatal(err)
	}
	flagger(t, f)(id, workflow.FlagResolutionBreach)
	if _, errs := f.store.CreateMany(ctx, []string{"a", "b"}, []*intake.Incident{
		{Channel: intake.ChannelPhone, Subject: "vpn", State: intake.Analysis, RegisteredAt: f.clock.Now()},
		{Channel: intake.ChannelWeb, Subject: "printer", State: intake.Analysis, RegisteredAt: f.clock.Now()}}, nil); errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if err := f.store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, budget := range []int{400, 1} {
		f.store.SetPageBudget(budget)
		ids(t, f, intake.ListFilter{Query: "impresora tón", Channel: "email", SLA: intake.SLABreached, Unassigned: true}, 10)
	}
	closeIncident(t, f, id)
	f.clock.Add(500 * 24 * time.Hour)
	if res, err := f.store.Archiver(t.TempDir(), 400*24*time.Hour, f.clock.Now).Run(ctx); err != nil || res.Archived != 1 {
		t.Fatalf("archive: %+v, %v", res, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.scripts < 20 {
		t.Fatalf("saw %d script calls: the hook missed them", h.scripts)
	}
	for _, c := range h.crossed {
		t.Errorf("one script call, keys of several hash tags: %s", c)
	}
}

// Incidents stored before the queue's indexes existed get them from
// Migrate, once: the same pages as if they had been indexed at write time.
func TestMigrateIndexesIncidentsStoredBefore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var all []string
	for i := range 30 {
		id := report(t, f, []intake.Channel{intake.ChannelEmail, intake.ChannelPhone}[i%2], intake.Spanish,
			fmt.Sprintf("Impresora %d atascada", i), "")
		all = append(all, id)
		switch i % 5 {
		case 0:
			done(t)(f.engine.AddAction(ctx, id, alice, "mirando"))
		case 1:
			flagger(t, f)(id, workflow.FlagResolutionBreach)
		case 2:
			flagger(t, f)(id, workflow.FlagResponseWarning)
		case 3:
			done(t)(f.engine.Comment(ctx, id, reporter, "sigue sin tóner"))
		}
	}
	closeIncident(t, f, all[2]) // warned, then closed: in no SLA list
	filters := []intake.ListFilter{{Query: "impresoras"}, {Query: "toner"}, {Channel: "phone"}, {Unassigned: true},
		{SLA: intake.SLABreached}, {SLA: intake.SLAWarning}, {Query: "atasc", Channel: "email", Unassigned: true}}
	want := make([][]string, len(filters))
	for i, fl := range filters {
		want[i] = ids(t, f, fl, 7)
		if len(want[i]) == 0 {
			t.Fatalf("%+v matches nothing: the test proves little", fl)
		}
	}
	// As a store before this version left them: none of the new indexes.
	keys, err := redistest.Keys(ctx, f.rdb, f.prefix+":*")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, ":idx:channel:") || strings.Contains(k, ":idx:sla:") || strings.Contains(k, ":idx:term") || strings.Contains(k, ":idx:tb:") ||
			strings.HasSuffix(k, ":idx:unowned") {
			if err := f.rdb.Del(ctx, k).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Contains(k, ":inc:") && f.rdb.Type(ctx, k).Val() == "hash" {
			if err := f.rdb.HDel(ctx, k, "terms").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := ids(t, f, filters[0], 7); len(got) != 0 {
		t.Fatalf("indexes not removed: %v", got)
	}
	for run := range 2 {
		if err := f.store.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for i, fl := range filters {
			if got := ids(t, f, fl, 7); !slices.Equal(got, want[i]) {
				t.Errorf("run %d, %+v: %v, want %v", run, fl, got, want[i])
			}
		}
	}
}

// A page whose matches all live in one shard: the first round asks each
// shard for its share only, so the second must fetch the rest, exactly.
func TestPageOfOneShardsMatches(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var keys []string
	var incs []*intake.Incident
	for i := range 16 * 30 {
		subject := "printer jam"
		if i%16 == 4 {
			subject = "solo printer"
		}
		keys = append(keys, fmt.Sprint("one-shard-", i))
		incs = append(incs, &intake.Incident{Channel: intake.ChannelPhone, Subject: subject, State: intake.Analysis, RegisteredAt: f.clock.Now()})
	}
	out, errs := f.store.CreateMany(ctx, keys, incs, nil)
	var want []string
	for i := range out {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if incs[i].Subject == "solo printer" {
			want = append([]string{out[i].ID}, want...)
		}
	}
	for _, per := range []int{20, 50} {
		if got := ids(t, f, intake.ListFilter{Query: "solo printer"}, per); !slices.Equal(got, want) {
			t.Errorf("pages of %d: %v, want %v", per, got, want)
		}
	}
	if got := ids(t, f, intake.ListFilter{Query: "printer"}, 20); len(got) != 16*30 {
		t.Errorf("printer: %d incidents, want %d", len(got), 16*30)
	}
}

// A batch's registrations index their terms together (one write per term
// bucket): across shards and a bucket boundary they are found as one by
// one registrations are. A crash after the incidents were stored but
// before their terms were indexed is mended by the retry, which finds
// them stored.
func TestBatchRegistrationIndexesTermsTogether(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	span := int64(redisstore.Shards * 128)
	if err := f.rdb.Set(ctx, f.prefix+":{keys}:seq", 2*span-100, 0).Err(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var incs []*intake.Incident
	for i := range 300 {
		description := "The printer on floor 2 jams."
		if i%10 == 7 {
			description = "La impresora no tiene tóner."
		}
		keys = append(keys, fmt.Sprint("batch-terms-", i))
		incs = append(incs, &intake.Incident{Channel: intake.ChannelEmail, Subject: "Printer", Description: description,
			State: intake.Analysis, RegisteredAt: f.clock.Now()})
	}
	register := func() (printers, toners []string) {
		t.Helper()
		batch := make([]*intake.Incident, len(incs))
		for i, inc := range incs {
			c := *inc
			batch[i] = &c
		}
		out, errs := f.store.CreateMany(ctx, keys, batch, nil)
		for i := range out {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			printers = append([]string{out[i].ID}, printers...)
			if i%10 == 7 {
				toners = append([]string{out[i].ID}, toners...)
			}
		}
		return printers, toners
	}
	check := func(when string, printers, toners []string) {
		t.Helper()
		if got := ids(t, f, intake.ListFilter{Query: "printer"}, 50); !slices.Equal(got, printers) {
			t.Errorf("%s, printer: %d incidents %v, want %d", when, len(got), got, len(printers))
		}
		if got := ids(t, f, intake.ListFilter{Query: "toner impresora"}, 7); !slices.Equal(got, toners) {
			t.Errorf("%s, toner impresora: %v, want %v", when, got, toners)
		}
	}
	printers, toners := register()
	lo, _ := intake.ParseID(printers[len(printers)-1])
	hi, _ := intake.ParseID(printers[0])
	if lo/span == hi/span {
		t.Fatalf("the batch %d..%d does not cross a bucket boundary; the test proves little", lo, hi)
	}
	check("one batch", printers, toners)

	// The crash: the terms were never written.
	indexes, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:idx:t*")
	if err != nil || len(indexes) == 0 {
		t.Fatalf("term index keys %v, %v", indexes, err)
	}
	for _, k := range indexes {
		if err := f.rdb.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got := ids(t, f, intake.ListFilter{Query: "printer"}, 50); len(got) != 0 {
		t.Fatalf("found %d after the index was dropped", len(got))
	}
	again, againToners := register()
	if !slices.Equal(again, printers) || !slices.Equal(againToners, toners) {
		t.Fatalf("the retry registered %v, want the stored %v", again, printers)
	}
	check("after the retry", printers, toners)
}

// incidentHash is the key of incident id's hash.
func incidentHash(t *testing.T, f *fixture, id string) string {
	t.Helper()
	keys, err := redistest.Keys(context.Background(), f.rdb, f.prefix+":*:inc:"+id)
	if err != nil || len(keys) != 1 {
		t.Fatalf("hash of %s: %v, %v", id, keys, err)
	}
	return keys[0]
}

// The incident's hash keeps no copy of its search terms (a few hundred
// bytes of every incident): the archive recomputes them.
func TestIncidentHashKeepsNoSearchTerms(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := report(t, f, intake.ChannelEmail, intake.English, "Zebra label printer", "Prints blank labels.")
	if _, err := f.engine.Comment(ctx, id, reporter, "Xylophone noises from the printer"); err != nil {
		t.Fatal(err)
	}
	h, err := f.rdb.HGetAll(ctx, incidentHash(t, f, id)).Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		if strings.Contains(v, "xylophon") || strings.Contains(v, "zebra ") || k == "terms" {
			t.Errorf("hash field %s keeps search terms: %q", k, v)
		}
	}
	if got := ids(t, f, intake.ListFilter{Query: "xylophone zebra"}, 10); fmt.Sprint(got) != fmt.Sprint([]string{id}) {
		t.Errorf("search: %v, want [%s]", got, id)
	}
}

// An incident stored before kept its terms in its hash's "terms" field;
// the archive leaves those indexes too, even for a term today's analyzer
// would not give (stored by an older one).
func TestArchiveLeavesTheTermsAnOlderVersionKept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := report(t, f, intake.ChannelPhone, intake.English, "Zebra label printer", "Prints blank labels.")
	closeIncident(t, f, old)
	key := incidentHash(t, f, old)
	shard := key[:strings.Index(key, ":inc:")]
	seq, err := f.rdb.HGet(ctx, key, "seq").Float64()
	if err != nil {
		t.Fatal(err)
	}
	// As the former version left it, with a term an older analyzer gave,
	// in the index layout before buckets: Migrate moves it.
	if err := f.rdb.HSet(ctx, key, "terms", "zebra label printer quokkas").Err(); err != nil {
		t.Fatal(err)
	}
	f.rdb.ZAdd(ctx, shard+":idx:term:quokkas", redis.Z{Score: seq, Member: old})
	f.rdb.ZAdd(ctx, shard+":idx:terms", redis.Z{Score: 0, Member: "quokkas"})
	f.rdb.Del(ctx, f.prefix+":{keys}:migrated:term-buckets")
	if err := f.store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, f, intake.ListFilter{Query: "quokkas"}, 10); fmt.Sprint(got) != fmt.Sprint([]string{old}) {
		t.Fatalf("before the archive: %v", got)
	}
	f.clock.Add(500 * 24 * time.Hour)
	res, err := f.store.Archiver(t.TempDir(), 400*24*time.Hour, f.clock.Now).Run(ctx)
	if err != nil || res.Archived != 1 {
		t.Fatalf("archive: %+v, %v", res, err)
	}
	keys, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:idx:t*")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, ":idx:term:") || strings.Contains(k, ":idx:tb:") {
			t.Errorf("index %s left after the archive", k)
		} else if _, err := f.rdb.ZScore(ctx, k, "quokkas").Result(); err != redis.Nil {
			t.Errorf("dictionary %s still holds quokkas", k)
		}
	}
}

// A term's index is cut in buckets of incident numbers (search.go): pages
// of a search, the walk and the intersection in Redis both, cross bucket
// boundaries newest first and miss nothing; each bucket stays a listpack;
// the archive leaves no empty bucket behind.
func TestSearchAcrossTermBuckets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Numbers from just below the third bucket boundary of the span.
	span := int64(redisstore.Shards * 128)
	if err := f.rdb.Set(ctx, f.prefix+":{keys}:seq", 3*span-40, 0).Err(); err != nil {
		t.Fatal(err)
	}
	var printers, toners []string
	for i := range 80 {
		subject, description := "Printer jam", "The printer on floor 2 jams."
		if i%8 == 3 {
			description += " Toner is low."
		}
		id := report(t, f, intake.ChannelEmail, intake.English, subject, description)
		printers = append([]string{id}, printers...)
		if i%8 == 3 {
			toners = append([]string{id}, toners...)
		}
	}
	for _, budget := range []int{0, 1} {
		if budget > 0 {
			f.store.SetPageBudget(budget) // the intersection in Redis answers
		}
		if got := ids(t, f, intake.ListFilter{Query: "printer"}, 7); !slices.Equal(got, printers) {
			t.Errorf("budget %d, printer: %v, want %v", budget, got, printers)
		}
		if got := ids(t, f, intake.ListFilter{Query: "toner printer"}, 3); !slices.Equal(got, toners) {
			t.Errorf("budget %d, toner printer: %v, want %v", budget, got, toners)
		}
		if got := ids(t, f, intake.ListFilter{Query: "printer ton"}, 4); !slices.Equal(got, toners) {
			t.Errorf("budget %d, printer ton (a prefix): %v, want %v", budget, got, toners)
		}
	}
	buckets, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:idx:tb:printer:*")
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets) < 2*redisstore.Shards {
		t.Fatalf("printer's buckets %v: the incidents do not cross a boundary, the test proves little", buckets)
	}
	for _, k := range buckets {
		if enc := f.rdb.ObjectEncoding(ctx, k).Val(); enc != "listpack" {
			t.Errorf("%s is a %s, want a listpack", k, enc)
		}
	}
	for _, id := range printers {
		closeIncident(t, f, id)
	}
	f.clock.Add(500 * 24 * time.Hour)
	res, err := f.store.Archiver(t.TempDir(), 400*24*time.Hour, f.clock.Now).Run(ctx)
	if err != nil || res.Archived != len(printers) {
		t.Fatalf("archive: %+v, %v", res, err)
	}
	left, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:idx:tb:*")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("term indexes left after archiving every incident: %v", left)
	}
}

// A store of the former layout (one sorted set per term) is moved into
// buckets by Migrate, once: the same searches find the same incidents,
// and nothing of the former layout is left.
func TestMigrateMovesTermIndexesIntoBuckets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 40 {
		report(t, f, intake.ChannelEmail, intake.Spanish, fmt.Sprintf("Impresora %d atascada", i%3), "La impresora no imprime.")
	}
	queries := []string{"impresora", "atascada", "impr", "impresora 2"}
	want := make([][]string, len(queries))
	for i, q := range queries {
		if want[i] = ids(t, f, intake.ListFilter{Query: q}, 9); len(want[i]) == 0 {
			t.Fatalf("%q finds nothing: the test proves little", q)
		}
	}
	// Back to the former layout: each term's buckets as one sorted set.
	dirs, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:idx:tb:*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if f.rdb.Type(ctx, dir).Val() != "zset" || strings.Count(dir[strings.Index(dir, ":idx:tb:"):], ":") != 3 {
			continue // a bucket: moved with its term
		}
		term := dir[strings.Index(dir, ":idx:tb:")+len(":idx:tb:"):]
		former := strings.Replace(dir, ":idx:tb:", ":idx:term:", 1)
		for _, b := range f.rdb.ZRange(ctx, dir, 0, -1).Val() {
			entries := f.rdb.ZRangeWithScores(ctx, dir+":"+b, 0, -1).Val()
			if err := f.rdb.ZAdd(ctx, former, entries...).Err(); err != nil {
				t.Fatal(err)
			}
			f.rdb.Del(ctx, dir+":"+b)
		}
		f.rdb.Del(ctx, dir)
		if term == "" {
			t.Fatalf("no term in %s", dir)
		}
	}
	f.rdb.Del(ctx, f.prefix+":{keys}:migrated:term-buckets")
	if got := ids(t, f, intake.ListFilter{Query: queries[0]}, 9); len(got) != 0 {
		t.Fatalf("the buckets were not removed: %v", got)
	}
	for run := range 2 {
		if err := f.store.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for i, q := range queries {
			if got := ids(t, f, intake.ListFilter{Query: q}, 9); !slices.Equal(got, want[i]) {
				t.Errorf("run %d, %q: %v, want %v", run, q, got, want[i])
			}
		}
	}
	former, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:idx:term:*")
	if err != nil {
		t.Fatal(err)
	}
	if len(former) > 0 {
		t.Errorf("former term indexes left: %v", former)
	}
}
