// Package inbound turns one received mail into exactly one recorded outcome:
// a new incident, a comment on one, a survey answer, or a reasoned refusal
// (ignored, quarantined). It is the part of the e-mail channel that does not
// speak IMAP: the mailbox watcher hands it raw messages and moves each away
// once Process has returned without error.
package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/intakebot/intakebot/channels/email/message"
	"github.com/intakebot/intakebot/channels/email/quote"
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/channels/email/senderauth"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow/answer"
)

// Incidents is the workflow engine as the mail channel drives it.
type Incidents interface {
	Register(ctx context.Context, rep intake.Report) (*intake.Incident, error)
	// RegisterMany registers several reports as Register would each, in a
	// few round trips for all; one incident or one error per report.
	RegisterMany(ctx context.Context, reps []intake.Report) ([]*intake.Incident, []error)
	Get(ctx context.Context, id string) (*intake.Incident, error)
	Comment(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
	AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error)
	Rate(ctx context.Context, id string, by intake.Actor, rating int, comment string) (intake.Changed, error)
	Reask(ctx context.Context, id string, by intake.Actor) (intake.Changed, error)
	// Solved records that an article offered in the acknowledgment solved
	// the reporter's problem; MinScore is the score an offered article
	// reached (see intake.Incident.ReporterSuggestions).
	Solved(ctx context.Context, id string, by intake.Actor, articleID string) (intake.Changed, error)
	MinScore() float64
}

// Ledger claims inbound messages and records their outcomes once; the
// Many forms do the same for a batch in one round trip.
type Ledger interface {
	Begin(ctx context.Context, key, source string, now time.Time) (*intake.InboundRecord, error)
	Record(ctx context.Context, key string, r intake.InboundRecord) (bool, error)
	BeginMany(ctx context.Context, keys, sources []string, now time.Time) ([]*intake.InboundRecord, error)
	RecordMany(ctx context.Context, keys []string, rs []intake.InboundRecord) error
}

// Threads maps Message-IDs to incidents.
type Threads interface {
	ThreadOf(ctx context.Context, messageIDs []string) (string, error)
	// RememberMail ties a mail to its incident: its Message-ID for
	// threading, and the people on it (sender and copies) as participants.
	RememberMail(ctx context.Context, incidentID, messageID string, people []string) error
	// RememberMails does RememberMail for several mails in one round trip;
	// one error per mail.
	RememberMails(ctx context.Context, incidentIDs, messageIDs []string, people [][]string) []error
	// IsParticipant tells whether an address took part in the incident's
	// conversation.
	IsParticipant(ctx context.Context, incidentID, address string) (bool, error)
}

// Acts tells whether an act with a given Ref reached an incident, and
// which event it was ("" when none did).
type Acts interface {
	Applied(ctx context.Context, incidentID, ref string) (string, error)
}

// Files keeps the attachments of a message on its incident, once per ref.
type Files interface {
	AddAttachments(ctx context.Context, incidentID, ref string, atts []intake.Attachment) error
}

// ReplyTokens reads our signed reply addresses
// (helpdesk+INC-000123.kid.token@...), checks whom one was given to, and
// reads the incident out of a signed Message-ID of ours
// (INC-000123.ack.1.token@...).
type ReplyTokens interface {
	Parse(address string) (replytoken.Reply, bool)
	Verify(r replytoken.Reply, recipient string) bool
	ParseMessageID(messageID string) (incidentID string, ok bool)
}

// SenderAuth tells whether a mail's From domain is authenticated
// (Authentication-Results of a trusted server, or DKIM).
type SenderAuth interface {
	Check(ctx context.Context, m senderauth.Mail) senderauth.Verdict
}

// Config is what the processor needs besides its collaborators.
type Config struct {
	Detector message.Detector
	Limits   message.Options
}

// Deps are the processor's collaborators. Tokens may be nil (no signed
// reply addresses), and so may Auth (no sender is ever authenticated, so
// only replies to a reply address answer a survey).
type Deps struct {
	Incidents Incidents
	Ledger    Ledger
	Threads   Threads
	Files     Files
	Acts      Acts
	Tokens    ReplyTokens
	Auth      SenderAuth
	Log       *slog.Logger
	Now       func() time.Time
}

// Processor handles inbound mail.
type Processor struct {
	cfg Config
	d   Deps
}

// New returns a processor.
func New(cfg Config, d Deps) *Processor { return &Processor{cfg: cfg, d: d} }

// Source says where a mail was read: mailbox, UIDVALIDITY and UID, so that a
// redelivery of the same mail is told from a copy that came another way.
type Source struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	// Truncated says the mailbox handed over only the first bytes of a
	// mail over its size limit: it is quarantined, the original kept there.
	Truncated bool
	// NoBody says the mailbox's server returned no content for the mail
	// (an empty body, or no body section): it is quarantined, the original
	// kept there, and its outcome is recorded under its source, since
	// every such mail has the same (empty) content.
	NoBody bool
	// Address is the mailbox's help-desk address; answers to a report that
	// came here go out from it.
	Address string
}

func (s Source) String() string { return fmt.Sprintf("%s/%d/%d", s.Mailbox, s.UIDValidity, s.UID) }

// Process records exactly one outcome for raw and returns it. An error
// means nothing final happened (Redis unreachable, say): the caller must
// leave the mail where it is and try again later; every step is idempotent,
// so the retry neither loses nor duplicates anything.
func (p *Processor) Process(ctx context.Context, src Source, raw []byte) (intake.InboundRecord, error) {
	return p.process(ctx, src, raw, p.parse(src, raw))
}

// parsed is a mail as Parse left it, with its raw bytes (DKIM needs them).
type parsed struct {
	msg *message.Message
	err error
	raw []byte
}

// ErrNoBody is the quarantine reason of a mail whose content the mailbox's
// server did not return (Source.NoBody).
var ErrNoBody = errors.New("empty body: the mail server returned no content for this mail; the original stays in the quarantine folder")

func (p *Processor) parse(src Source, raw []byte) parsed {
	if src.NoBody {
		return parsed{nil, ErrNoBody, raw}
	}
	msg, err := message.Parse(raw, p.cfg.Limits)
	if src.Truncated {
		err = fmt.Errorf("%w: only the first %d bytes were fetched", message.ErrTooLarge, len(raw))
	}
	return parsed{msg, err, raw}
}

// Item is one mail of a batch.
type Item struct {
	Source Source
	Raw    []byte
}

// ProcessBatch processes several mails at once: parsing on every core, and
// mails that cannot affect each other concurrently. Mails from the same
// sender, and mails whose Message-ID, In-Reply-To or References link them,
// stay in order (a reply never overtakes the report it answers). It
// returns one outcome and one error per item, as Process would.
func (p *Processor) ProcessBatch(ctx context.Context, items []Item, workers int) ([]intake.InboundRecord, []error) {
	workers = max(workers, 1)
	n := len(items)
	if n == 0 {
		return nil, nil
	}
	mails := make([]parsed, n)
	each(n, workers, func(i int) { mails[i] = p.parse(items[i].Source, items[i].Raw) })

	// Claim every mail in one round trip, and record every outcome in one
	// more at the end: the round trips, not the work, bound the intake.
	keys, sources, recs := make([]string, n), make([]string, n), make([]intake.InboundRecord, n)
	firstOf := map[string]int{}
	dupOf := make([]int, n)
	for i, it := range items {
		keys[i], recs[i] = keyOf(it.Source, mails[i].msg, it.Raw), p.base(it.Source, mails[i].msg)
		sources[i] = recs[i].Source
		dupOf[i] = -1
		if j, ok := firstOf[keys[i]]; ok {
			dupOf[i] = j // the same message twice in this batch
		} else {
			firstOf[keys[i]] = i
		}
	}
	errs := make([]error, n)
	priors, err := p.d.Ledger.BeginMany(ctx, keys, sources, recs[0].At)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return recs, errs
	}

	recordKeys := make([]string, n)
	chains := chainsOf(mails, keys)
	chainOf := make([]int, n)
	for c, chain := range chains {
		for _, i := range chain {
			chainOf[i] = c
		}
	}
	// failed holds a chain's first error: a later mail of a chain must not
	// overtake a failed earlier one (a reply would open its own incident),
	// so it waits too.
	failed := make([]error, len(chains))
	pending := make([]*intake.Report, n)
	// Round r works on the r-th mail of every chain: the mails of one round
	// are unrelated, so they go concurrently, and the new reports among
	// them are registered together at the round's end, before any later
	// mail of their chains (a reply to one of them, say) is looked at.
	for round := 0; ; round++ {
		var active []int
		for _, chain := range chains {
			if round < len(chain) {
				active = append(active, chain[round])
			}
		}
		if len(active) == 0 {
			break
		}
		each(len(active), workers, func(k int) {
			i := active[k]
			if err := failed[chainOf[i]]; err != nil {
				errs[i] = err
				return
			}
			if j := dupOf[i]; j >= 0 {
				// Its first copy came earlier in the same chain.
				if errs[j] != nil {
					errs[i] = errs[j]
					return
				}
				recs[i].Outcome, recs[i].Reason, recs[i].Incident = intake.OutcomeIgnored, "duplicate", recs[j].Incident
				recs[i].Key, recordKeys[i] = keys[i], keys[i]+"\x00"+recs[i].Source
				return
			}
			recs[i], recordKeys[i], pending[i], errs[i] = p.resolve(ctx, keys[i], items[i].Source, mails[i], recs[i], priors[i])
		})
		var regs []int
		for _, i := range active {
			if errs[i] == nil && pending[i] != nil {
				regs = append(regs, i)
			}
		}
		p.registerMany(ctx, regs, pending, mails, keys, recs, errs)
		for _, i := range active {
			if errs[i] != nil && failed[chainOf[i]] == nil {
				failed[chainOf[i]] = errs[i]
			}
		}
	}

	var todo []int
	for i := range items {
		if errs[i] == nil && recordKeys[i] != "" {
			todo = append(todo, i)
		}
	}
	batchKeys, batchRecs := make([]string, len(todo)), make([]intake.InboundRecord, len(todo))
	for k, i := range todo {
		batchKeys[k], batchRecs[k] = recordKeys[i], recs[i]
	}
	// The effects are done: their outcomes are written even when we are
	// shutting down, or the whole batch would be worked again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.d.Ledger.RecordMany(rctx, batchKeys, batchRecs); err != nil {
		for _, i := range todo {
			errs[i] = err
		}
		return recs, errs
	}
	for _, i := range todo {
		p.logOutcome(recs[i])
	}
	return recs, errs
}

// registerMany registers the new reports of mails idx (pending[i] is mail
// i's) together, ties each mail to its new incident and fills in its
// outcome, or its error.
func (p *Processor) registerMany(ctx context.Context, idx []int, pending []*intake.Report, mails []parsed, keys []string,
	recs []intake.InboundRecord, errs []error) {
	if len(idx) == 0 {
		return
	}
	reps := make([]intake.Report, len(idx))
	for k, i := range idx {
		reps[k] = *pending[i]
	}
	created, rerrs := p.d.Incidents.RegisterMany(ctx, reps)
	var made []int
	for k, i := range idx {
		if rerrs[k] != nil {
			recs[i], errs[i] = quarantineIfInvalid(recs[i], rerrs[k])
			continue
		}
		recs[i].Outcome, recs[i].Incident = intake.OutcomeCreated, created[k].ID
		made = append(made, i)
	}
	if len(made) == 0 {
		return
	}
	ids, mids, people := make([]string, len(made)), make([]string, len(made)), make([][]string, len(made))
	for k, i := range made {
		ids[k], mids[k], people[k] = recs[i].Incident, mails[i].msg.MessageID, p.people(mails[i].msg, true)
	}
	merrs := p.d.Threads.RememberMails(ctx, ids, mids, people)
	for k, i := range made {
		if merrs[k] == nil {
			merrs[k] = p.keepAttachments(ctx, recs[i], mails[i].msg, keys[i])
		}
		errs[i] = merrs[k]
	}
}

// chainsOf groups the mails that must be processed in order: linked by
// sender, Message-ID or references (a union-find over those keys). Each
// chain keeps the batch's order.
func chainsOf(mails []parsed, keys []string) [][]int {
	parent := make([]int, len(mails))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	link := func(i int, key string) {
		if j, ok := owner[key]; ok {
			parent[find(i)] = find(j)
		} else {
			owner[key] = i
		}
	}
	for i, m := range mails {
		link(i, "key:"+keys[i])
		if m.msg == nil {
			continue
		}
		link(i, "from:"+m.msg.From.Address)
		for _, id := range append([]string{m.msg.MessageID, m.msg.InReplyTo}, m.msg.References...) {
			if id != "" {
				link(i, "mid:"+id)
			}
		}
	}
	index := map[int]int{}
	var chains [][]int
	for i := range mails {
		root := find(i)
		c, ok := index[root]
		if !ok {
			c = len(chains)
			index[root] = c
			chains = append(chains, nil)
		}
		chains[c] = append(chains[c], i)
	}
	return chains
}

// each runs f(0..n-1) on up to workers goroutines and waits for them.
func each(n, workers int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func (p *Processor) process(ctx context.Context, src Source, raw []byte, m parsed) (intake.InboundRecord, error) {
	key, rec := keyOf(src, m.msg, raw), p.base(src, m.msg)
	prior, err := p.d.Ledger.Begin(ctx, key, rec.Source, rec.At)
	if err != nil {
		return rec, err
	}
	rec, recordKey, rep, err := p.resolve(ctx, key, src, m, rec, prior)
	if err != nil || recordKey == "" {
		return rec, err
	}
	if rep != nil {
		created, err := p.d.Incidents.Register(ctx, *rep)
		if rec, err = p.registered(ctx, rec, m.msg, key, created, err); err != nil {
			return rec, err
		}
	}
	return p.record(ctx, recordKey, rec)
}

// base is a mail's record before its outcome is known.
func (p *Processor) base(src Source, msg *message.Message) intake.InboundRecord {
	rec := intake.InboundRecord{At: p.d.Now().UTC(), Channel: intake.ChannelEmail, Source: src.String()}
	if msg != nil {
		rec.MessageID, rec.From, rec.Subject = msg.MessageID, msg.From.Address, intake.Clip(msg.Subject, 200)
	}
	return rec
}

// resolve decides and applies a claimed mail. It returns the key its
// outcome must be recorded under, or "" when the outcome is already stored,
// and the report to register when the mail is a new one: the caller
// registers it (see registered) before recording the outcome.
func (p *Processor) resolve(ctx context.Context, key string, src Source, m parsed, rec intake.InboundRecord, prior *intake.InboundRecord) (intake.InboundRecord, string, *intake.Report, error) {
	if prior != nil && prior.Outcome != "" {
		if prior.Source == rec.Source {
			// A redelivery of a mail whose outcome is stored: the crash
			// came after the record and before the mailbox was told.
			return *prior, "", nil, nil
		}
		// The same message reached us a second way (two of our addresses,
		// a resend): it gets its own outcome and does nothing.
		rec.Outcome, rec.Reason, rec.Incident, rec.Key = intake.OutcomeIgnored, "duplicate", prior.Incident, key
		return rec, key + "\x00" + rec.Source, nil, nil
	}
	// A claim without an outcome (prior != nil) is this mail begun before
	// and interrupted, whatever source brings it now: finish it.
	rec, rep, err := p.decide(ctx, key, src, m, rec, prior != nil)
	if err != nil {
		return rec, "", nil, err
	}
	return rec, key, rep, nil
}

// registered completes a new report's mail once Register has answered:
// its outcome, and the mail tied to the new incident.
func (p *Processor) registered(ctx context.Context, rec intake.InboundRecord, msg *message.Message, key string, created *intake.Incident, err error) (intake.InboundRecord, error) {
	if err != nil {
		return quarantineIfInvalid(rec, err)
	}
	rec.Outcome, rec.Incident = intake.OutcomeCreated, created.ID
	return p.remember(ctx, rec, msg, key, true)
}

func (p *Processor) record(ctx context.Context, key string, rec intake.InboundRecord) (intake.InboundRecord, error) {
	if _, err := p.d.Ledger.Record(ctx, key, rec); err != nil {
		return rec, err
	}
	p.logOutcome(rec)
	return rec, nil
}

func (p *Processor) logOutcome(rec intake.InboundRecord) {
	p.d.Log.Info("inbound mail", "outcome", rec.Outcome, "incident", rec.Incident, "reason", rec.Reason,
		"message_id", rec.MessageID, "from", rec.From, "source", rec.Source)
}

// decide applies the mail and fills in the outcome, or gives the report to
// register when the mail opens an incident (the caller registers it). An
// empty outcome means a transient failure (Reason says which); the mail
// will be processed again.
func (p *Processor) decide(ctx context.Context, key string, src Source, m parsed, rec intake.InboundRecord, retry bool) (intake.InboundRecord, *intake.Report, error) {
	msg, parseErr := m.msg, m.err
	if msg != nil && (parseErr == nil || errors.Is(parseErr, message.ErrNoFrom)) {
		if reason, auto := p.cfg.Detector.Automated(msg); auto {
			rec.Outcome, rec.Reason = intake.OutcomeIgnored, reason
			return rec, nil, nil
		}
	}
	if parseErr != nil {
		rec.Outcome, rec.Reason = intake.OutcomeQuarantined, parseErr.Error()
		return rec, nil, nil
	}

	f, err := p.findIncident(ctx, msg)
	if err != nil {
		return rec, nil, err
	}
	inc, verified := f.inc, f.fromReporter
	by := intake.Actor{Kind: intake.ActorReporter, Name: clipText(senderName(msg), intake.MaxNameBytes), Via: "email", Ref: key}
	text := clipText(visibleText(msg), intake.MaxTextBytes)

	if retry && inc != nil {
		// This mail was begun before and stopped short of its outcome: if
		// its act reached the incident, record what it was rather than
		// deciding again from a state it has changed since (even closed).
		if event, err := p.d.Acts.Applied(ctx, inc.ID, key); err != nil {
			return rec, nil, err
		} else if event != "" {
			rec.Outcome, rec.Step = outcomeOf(event)
			rec.Incident = inc.ID
			rec, err := p.remember(ctx, rec, msg, key, verified)
			return rec, nil, err
		}
	}
	if inc == nil || inc.State == intake.Closed {
		related := ""
		if inc != nil {
			related = inc.ID
		}
		reported := msg.Date
		if reported.After(rec.At) {
			reported = time.Time{} // a sender's clock in the future
		}
		return rec, &intake.Report{
			Channel: intake.ChannelEmail, Subject: clipText(msg.Subject, intake.MaxNameBytes*5), Description: text, ReportedAt: reported,
			Reporter: intake.Reporter{Name: by.Name, Email: msg.From.Address},
			Key:      key, MessageID: msg.MessageID, RelatedID: related, Mailbox: src.Address,
		}, nil
	}

	rec.Incident = inc.ID
	if !verified {
		// Someone other than the reporter: their words are kept, and
		// nothing they say answers a survey.
		by.Kind = intake.ActorParticipant
	}
	if verified && (inc.State == intake.Validation || inc.State == intake.Satisfaction) {
		if proven, why := p.proven(ctx, f, m); !proven {
			// The From says the reporter, and nothing proves it: anyone
			// can write that header. The words are kept and move nothing;
			// the question goes again to the reporter's own address
			// (never the sender's), with a fresh link and reply address,
			// once per entry into the step, so forged mail cannot flood
			// the reporter.
			p.d.Log.Warn("survey answer by mail not proven to come from the reporter", "incident", inc.ID,
				"from", msg.From.Address, "message_id", msg.MessageID, "why", why)
			if err := p.reask(ctx, inc, intake.Actor{Kind: intake.ActorSystem, Name: "intakebot", Via: "email"}); err != nil {
				rec, err := quarantineIfInvalid(rec, err)
				return rec, nil, err
			}
			rec.Reason = intake.Clip("not proven to come from the reporter ("+why+"): kept as a comment, question asked again", 300)
		} else {
			answered, err := p.answer(ctx, inc, by, text)
			if err != nil {
				rec, err := quarantineIfInvalid(rec, err)
				return rec, nil, err
			}
			if answered {
				rec.Outcome, rec.Step = intake.OutcomeSurveyAnswer, string(inc.State)
				rec, err := p.remember(ctx, rec, msg, key, true)
				return rec, nil, err
			}
		}
	}
	if verified && (inc.State == intake.Analysis || inc.State == intake.Solution) {
		solved, why, err := p.solved(ctx, f, m, inc, by, text)
		if err != nil {
			rec, err := quarantineIfInvalid(rec, err)
			return rec, nil, err
		}
		if solved {
			rec.Outcome, rec.Step = intake.OutcomeSurveyAnswer, string(intake.EventSolved)
			rec, err := p.remember(ctx, rec, msg, key, true)
			return rec, nil, err
		}
		rec.Reason = why
	}
	if text == "" {
		rec.Outcome, rec.Reason = intake.OutcomeIgnored, "empty reply"
		return rec, nil, nil
	}
	if _, err := p.d.Incidents.Comment(ctx, inc.ID, by, text); err != nil {
		rec, err := quarantineIfInvalid(rec, err)
		return rec, nil, err
	}
	rec.Outcome = intake.OutcomeAppended
	rec, err = p.remember(ctx, rec, msg, key, verified)
	return rec, nil, err
}

// outcomeOf names the outcome of an act already applied.
func outcomeOf(event string) (outcome, step string) {
	switch intake.EventKind(event) {
	case intake.EventAnswerYes, intake.EventAnswerNo:
		return intake.OutcomeSurveyAnswer, intake.SurveyValidation
	case intake.EventRating:
		return intake.OutcomeSurveyAnswer, intake.SurveySatisfaction
	case intake.EventSolved:
		return intake.OutcomeSurveyAnswer, string(intake.EventSolved)
	}
	return intake.OutcomeAppended, ""
}

// quarantineIfInvalid turns a refusal of the mail's content into its
// outcome (retrying cannot help); anything else is transient.
func quarantineIfInvalid(rec intake.InboundRecord, err error) (intake.InboundRecord, error) {
	if errors.Is(err, intake.ErrInvalid) {
		rec.Outcome, rec.Reason = intake.OutcomeQuarantined, err.Error()
		return rec, nil
	}
	return rec, err
}

// clipText cuts s to at most n bytes on a character boundary, marking the cut.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "\n[…]"
	return intake.Clip(s, n-len(mark)) + mark
}

// answer reads a survey answer from the reporter's reply and reports
// whether it answered the open question. When it did not, the caller keeps
// the reply as a comment.
func (p *Processor) answer(ctx context.Context, inc *intake.Incident, by intake.Actor, text string) (bool, error) {
	a := answer.Parse(text)
	var err error
	switch {
	case inc.State == intake.Validation && (a.Kind == answer.Yes || a.Kind == answer.No):
		_, err = p.d.Incidents.AnswerValidation(ctx, inc.ID, by, a.Kind == answer.Yes, strings.TrimSpace(a.Comment))
	case inc.State == intake.Satisfaction && a.Kind == answer.Rating:
		_, err = p.d.Incidents.Rate(ctx, inc.ID, by, a.Rating, strings.TrimSpace(a.Comment))
	default:
		return false, p.reask(ctx, inc, by)
	}
	if errors.Is(err, intake.ErrConflict) {
		// Answered meanwhile (another channel, an earlier reply): the
		// words are kept as a comment.
		return false, nil
	}
	return err == nil, err
}

// solved reads a reply "solved [N]" / "resuelto [N]" to an
// acknowledgment that offered articles, and records that the N-th one
// (the first when there is no number) solved the problem. It counts only
// under the rules of a survey answer: from the reporter, proven (the
// reporter's reply address or an authenticated sender). When it does not
// count, why says so for the ledger and the words stay a comment.
func (p *Processor) solved(ctx context.Context, f found, m parsed, inc *intake.Incident, by intake.Actor, text string) (bool, string, error) {
	n, ok := answer.Solved(text)
	if !ok {
		return false, "", nil
	}
	offered := inc.ReporterSuggestions(p.d.Incidents.MinScore())
	if len(offered) == 0 {
		return false, "", nil // nothing was offered: just words
	}
	if n > len(offered) {
		return false, fmt.Sprintf("solved %d: the acknowledgment offered %d article(s); kept as a comment", n, len(offered)), nil
	}
	if proven, why := p.proven(ctx, f, m); !proven {
		p.d.Log.Warn("\"solved\" by mail not proven to come from the reporter", "incident", inc.ID,
			"from", m.msg.From.Address, "message_id", m.msg.MessageID, "why", why)
		return false, intake.Clip("\"solved\" not proven to come from the reporter ("+why+"): kept as a comment", 300), nil
	}
	_, err := p.d.Incidents.Solved(ctx, inc.ID, by, offered[n-1].ID)
	if errors.Is(err, intake.ErrConflict) {
		// Moved on meanwhile (validation started): the words stay a comment.
		return false, "", nil
	}
	return err == nil, "", err
}

// reask sends the open question again to the reporter, once per time the
// step is entered (the Ref makes a second reask a no-op).
func (p *Processor) reask(ctx context.Context, inc *intake.Incident, by intake.Actor) error {
	by.Ref = fmt.Sprintf("reask:%s:%d", inc.State, inc.EnteredAt[inc.State].UnixNano())
	_, err := p.d.Incidents.Reask(ctx, inc.ID, by)
	if errors.Is(err, intake.ErrConflict) {
		err = nil
	}
	return err
}

// found is the incident a mail belongs to, and what the mail shows about
// its sender.
type found struct {
	inc *intake.Incident
	// fromReporter says the From address is the reporter's. Anyone can
	// write that header: it decides who speaks, never who answers.
	fromReporter bool
	// possession says the mail was sent to the reply address we gave the
	// reporter about this incident, by the reporter (see proven).
	possession bool
}

// proven tells whether a mail whose From is the reporter really comes from
// them: sent to the reply address bound to the reporter and this incident,
// or with a From domain authenticated (DMARC or aligned DKIM, by a server
// we trust). why says what was (not) found.
func (p *Processor) proven(ctx context.Context, f found, m parsed) (bool, string) {
	if f.possession {
		return true, "reporter's reply address"
	}
	if p.d.Auth == nil {
		return false, "no reply address of the reporter, and no sender authentication configured"
	}
	// Two From fields would let a signature cover one and us read the
	// other.
	if n := len(m.msg.Header.Values("From")); n != 1 {
		return false, fmt.Sprintf("%d From fields", n)
	}
	v := p.d.Auth.Check(ctx, senderauth.Mail{From: m.msg.From.Address, AuthResults: m.msg.Header.Values("Authentication-Results"), Raw: m.raw})
	if !v.Authenticated {
		return false, "no reply address of the reporter; " + v.Reason
	}
	return true, v.Reason
}

// findIncident follows, in order of trust, the signed reply address, our
// own Message-IDs and the thread index, then a subject tag (reporter only).
func (p *Processor) findIncident(ctx context.Context, msg *message.Message) (found, error) {
	if p.d.Tokens != nil {
		for _, a := range append(append([]message.Address{}, msg.To...), msg.Cc...) {
			r, ok := p.d.Tokens.Parse(a.Address)
			if !ok {
				continue
			}
			inc, err := p.get(ctx, r.Incident)
			if err != nil {
				return found{}, err
			}
			if inc == nil {
				continue
			}
			fromReporter := inc.IsReporter(msg.From.Address)
			mine := p.d.Tokens.Verify(r, msg.From.Address)
			// A reply address we gave the reporter, or the sender, or one
			// from before per-recipient tokens: it threads. One that
			// verifies for nobody (rebuilt from a Message-ID, say) is
			// ignored like any other address.
			if !r.Legacy && !mine && !p.d.Tokens.Verify(r, inc.Reporter.Email) {
				continue
			}
			// A colleague replying to all sends to the reporter's reply
			// address: it proves nothing about the colleague.
			return found{inc: inc, fromReporter: fromReporter, possession: fromReporter && mine}, nil
		}
	}
	ids := append([]string{msg.InReplyTo}, msg.References...)
	var others []string
	for _, ref := range ids {
		if p.d.Tokens != nil {
			if id, ok := p.d.Tokens.ParseMessageID(ref); ok {
				return p.withSender(ctx, id, msg)
			}
		}
		if ref != "" {
			others = append(others, ref)
		}
	}
	if id, err := p.d.Threads.ThreadOf(ctx, others); err != nil {
		return found{}, err
	} else if id != "" {
		return p.withSender(ctx, id, msg)
	}
	if m := subjectTag.FindStringSubmatch(msg.Subject); m != nil {
		f, err := p.withSender(ctx, strings.ToUpper(m[1]), msg)
		if err != nil || f.inc == nil || f.fromReporter {
			return f, err
		}
		// A participant (someone on the thread or in copy) joins it by the
		// tag too; a tag from a stranger opens a new incident.
		if ok, err := p.d.Threads.IsParticipant(ctx, f.inc.ID, msg.From.Address); err != nil || !ok {
			return found{}, err
		}
		return f, nil
	}
	return found{}, nil
}

var subjectTag = regexp.MustCompile(`(?i)\[(INC-[0-9]{6,})\]`)

func (p *Processor) withSender(ctx context.Context, id string, msg *message.Message) (found, error) {
	inc, err := p.get(ctx, id)
	if err != nil || inc == nil {
		return found{}, err
	}
	return found{inc: inc, fromReporter: inc.IsReporter(msg.From.Address)}, nil
}

// maxPeoplePerMail bounds the participants one mail can add.
const maxPeoplePerMail = 50

// people are the participants a mail adds: its sender and, when the
// reporter sent it, those in To and Cc (a participant cannot bring in
// others), less our own and our reply addresses.
func (p *Processor) people(msg *message.Message, verified bool) []string {
	addrs := []message.Address{msg.From}
	if verified {
		addrs = append(append(addrs, msg.To...), msg.Cc...)
	}
	var out []string
	for _, a := range addrs {
		addr := strings.ToLower(a.Address)
		if addr == "" || slices.Contains(out, addr) || len(out) >= maxPeoplePerMail ||
			slices.ContainsFunc(p.cfg.Detector.OwnAddresses, func(own string) bool { return strings.EqualFold(own, addr) }) {
			continue
		}
		if p.d.Tokens != nil {
			if _, ours := p.d.Tokens.Parse(addr); ours {
				continue
			}
		}
		out = append(out, addr)
	}
	return out
}

// get returns nil for an id that does not exist (a stale or forged reference).
func (p *Processor) get(ctx context.Context, id string) (*intake.Incident, error) {
	inc, err := p.d.Incidents.Get(ctx, id)
	var archived *intake.ArchivedError
	if errors.As(err, &archived) {
		// Closed and archived: a reply opens a new incident linked to it.
		return archived.Tombstone.Stub(), nil
	}
	if errors.Is(err, intake.ErrNotFound) || errors.Is(err, intake.ErrInvalid) {
		return nil, nil
	}
	return inc, err
}

// remember ties the mail to its incident: its Message-ID joins the thread
// and its attachments are kept. Both are idempotent, so a retry after a
// crash before the outcome was recorded adds nothing twice.
func (p *Processor) remember(ctx context.Context, rec intake.InboundRecord, msg *message.Message, key string, verified bool) (intake.InboundRecord, error) {
	if err := p.d.Threads.RememberMail(ctx, rec.Incident, msg.MessageID, p.people(msg, verified)); err != nil {
		return rec, err
	}
	return rec, p.keepAttachments(ctx, rec, msg, key)
}

// keepAttachments keeps a mail's attachments on its incident, once per key.
func (p *Processor) keepAttachments(ctx context.Context, rec intake.InboundRecord, msg *message.Message, key string) error {
	var atts []intake.Attachment
	for _, a := range msg.Attachments {
		atts = append(atts, intake.Attachment{Name: a.Filename, Type: a.ContentType, Size: a.Size,
			Truncated: a.Truncated, Via: "email", At: rec.At, Content: a.Content})
	}
	return p.d.Files.AddAttachments(ctx, rec.Incident, key, atts)
}

// keyOf is the key a mail is claimed and recorded under: its messageKey,
// or, for a mail whose content the server did not return, its source (the
// hash of nothing would make every such mail a duplicate of the first).
func keyOf(src Source, msg *message.Message, raw []byte) string {
	if src.NoBody {
		return "nobody:" + src.String()
	}
	return messageKey(msg, raw)
}

// messageKey is the Message-ID, or a hash of the raw bytes when there is
// none (or the mail could not be parsed).
func messageKey(msg *message.Message, raw []byte) string {
	if msg != nil && msg.MessageID != "" {
		return "mid:" + msg.MessageID
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// visibleText is what the sender newly wrote, or the whole text when
// stripping would leave nothing (a forwarded report, say).
func visibleText(msg *message.Message) string {
	v := strings.TrimSpace(quote.Visible(msg.Text))
	if v == "" {
		v = strings.TrimSpace(msg.Text)
	}
	return v
}

func senderName(msg *message.Message) string {
	if msg.From.Name != "" {
		return msg.From.Name
	}
	return msg.From.Address
}
