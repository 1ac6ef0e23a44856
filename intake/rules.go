package intake

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Category is a configured incident category and the words that point to it.
// Keywords may be in any language; they are matched as whole words, ignoring
// case and accents.
type Category struct {
	Name     string   `yaml:"name" json:"name"`
	Keywords []string `yaml:"keywords" json:"keywords"`
	// Group is the support group a new incident of this category goes to.
	Group string `yaml:"group" json:"group"`
	// Labels are what reporters read, by language; the name otherwise.
	Labels map[Lang]string `yaml:"labels" json:"labels,omitempty"`
}

// ConfigItem is an entry of the configuration item catalogue.
type ConfigItem struct {
	Name    string   `yaml:"name" json:"name"`
	Aliases []string `yaml:"aliases" json:"aliases"`
	// Labels are what reporters read, by language; the name otherwise.
	Labels map[Lang]string `yaml:"labels" json:"labels,omitempty"`
}

// Matrix maps impact, then urgency, to a priority.
type Matrix map[Level]map[Level]Priority

// DefaultMatrix is the usual ITIL 3x3 impact x urgency table.
func DefaultMatrix() Matrix {
	return Matrix{
		High:   {High: "P1", Medium: "P2", Low: "P3"},
		Medium: {High: "P2", Medium: "P3", Low: "P4"},
		Low:    {High: "P3", Medium: "P4", Low: "P5"},
	}
}

// Rules is the registration configuration: how a report is classified and
// prioritised. Build it with NewRules, which checks it and prepares the
// keyword tables once.
type Rules struct {
	defaultLang     Lang
	defaultCategory string
	defaultGroup    string
	defaultImpact   Level
	defaultUrgency  Level
	categories      []Category
	cis             []ConfigItem
	impactWords     map[Level][]string
	urgencyWords    map[Level][]string
	matrix          Matrix
	groups          []string
	labels          map[string]map[Lang]string // category or CI name -> labels
}

// RulesConfig is the configuration NewRules checks and prepares.
type RulesConfig struct {
	DefaultLanguage Lang
	DefaultCategory string
	// DefaultCategoryLabels are the default category's labels by language.
	DefaultCategoryLabels map[Lang]string
	DefaultGroup          string
	DefaultImpact         Level
	DefaultUrgency        Level
	Categories            []Category
	CIs                   []ConfigItem
	ImpactKeywords        map[Level][]string
	UrgencyKeywords       map[Level][]string
	Matrix                Matrix
	// Groups are the support groups; when set, every group named elsewhere
	// (default, categories, escalations) must be one of them.
	Groups []string
}

// NewRules validates the configuration and returns ready-to-use rules.
func NewRules(c RulesConfig) (*Rules, error) {
	if !c.DefaultLanguage.Valid() {
		return nil, fmt.Errorf("%w: default language %q is not en or es", ErrInvalid, c.DefaultLanguage)
	}
	if c.DefaultCategory == "" {
		return nil, fmt.Errorf("%w: a default category is required", ErrInvalid)
	}
	if !c.DefaultImpact.Valid() || !c.DefaultUrgency.Valid() {
		return nil, fmt.Errorf("%w: default impact and urgency must be high, medium or low", ErrInvalid)
	}
	if c.Matrix == nil {
		c.Matrix = DefaultMatrix()
	}
	for i, row := range c.Matrix {
		for u := range row {
			if !i.Valid() || !u.Valid() {
				return nil, fmt.Errorf("%w: priority matrix names level %q/%q; levels are high, medium and low", ErrInvalid, i, u)
			}
		}
	}
	if len(c.Matrix) == 0 {
		return nil, fmt.Errorf("%w: empty priority matrix", ErrInvalid)
	}
	for _, i := range []Level{High, Medium, Low} {
		for _, u := range []Level{High, Medium, Low} {
			if p := c.Matrix[i][u]; !p.Valid() {
				return nil, fmt.Errorf("%w: priority matrix has no valid priority for impact %s, urgency %s", ErrInvalid, i, u)
			}
		}
	}
	r := &Rules{
		defaultLang:     c.DefaultLanguage,
		defaultCategory: c.DefaultCategory,
		defaultGroup:    c.DefaultGroup,
		defaultImpact:   c.DefaultImpact,
		defaultUrgency:  c.DefaultUrgency,
		matrix:          c.Matrix,
		impactWords:     foldLevelWords(c.ImpactKeywords),
		urgencyWords:    foldLevelWords(c.UrgencyKeywords),
		groups:          c.Groups,
		labels:          map[string]map[Lang]string{c.DefaultCategory: c.DefaultCategoryLabels},
	}
	if c.DefaultGroup != "" && !r.HasGroup(c.DefaultGroup) {
		return nil, fmt.Errorf("%w: default group %q is not among the groups", ErrInvalid, c.DefaultGroup)
	}
	seen := map[string]bool{}
	for _, cat := range c.Categories {
		if cat.Name == "" || seen[cat.Name] {
			return nil, fmt.Errorf("%w: category names must be present and unique (%q)", ErrInvalid, cat.Name)
		}
		seen[cat.Name] = true
		if cat.Group != "" && !r.HasGroup(cat.Group) {
			return nil, fmt.Errorf("%w: category %q names unknown group %q", ErrInvalid, cat.Name, cat.Group)
		}
		r.categories = append(r.categories, Category{Name: cat.Name, Group: cat.Group, Keywords: foldAll(cat.Keywords)})
		r.labels[cat.Name] = cat.Labels
	}
	for _, ci := range c.CIs {
		if ci.Name == "" {
			return nil, fmt.Errorf("%w: a configuration item needs a name", ErrInvalid)
		}
		r.cis = append(r.cis, ConfigItem{Name: ci.Name, Aliases: foldAll(append([]string{ci.Name}, ci.Aliases...))})
		if _, taken := r.labels[ci.Name]; !taken {
			r.labels[ci.Name] = ci.Labels
		}
	}
	return r, nil
}

// Label is what a reporter reading lang is shown for a category or
// configuration item name: its configured label, else the name itself.
func (r *Rules) Label(name string, lang Lang) string {
	if l := r.labels[name][lang]; l != "" {
		return l
	}
	return name
}

// DefaultLanguage is the language used when neither the channel nor the
// text tells.
func (r *Rules) DefaultLanguage() Lang { return r.defaultLang }

// HasCategory reports whether name is a configured category (or the default).
func (r *Rules) HasCategory(name string) bool {
	if name == r.defaultCategory {
		return true
	}
	for _, c := range r.categories {
		if c.Name == name {
			return true
		}
	}
	return false
}

// HasGroup reports whether name is a configured support group; with no
// groups configured every name is accepted.
func (r *Rules) HasGroup(name string) bool {
	if len(r.groups) == 0 {
		return true
	}
	for _, g := range r.groups {
		if g == name {
			return true
		}
	}
	return false
}

// Priority looks impact x urgency up in the matrix.
func (r *Rules) Priority(impact, urgency Level) Priority { return r.matrix[impact][urgency] }

// Report is what a channel knows when someone reports an incident. Explicit
// values (set by an agent or a form) win over what is inferred from the text.
type Report struct {
	Channel     Channel
	Reporter    Reporter
	Subject     string
	Description string
	ReportedAt  time.Time
	RelatedID   string
	// Agent is the agent who registered the report (a phone call), if any.
	Agent string
	// Key identifies the source message (a Message-ID, a Slack event id, a
	// hash of the raw mail): registering the same key twice gives the
	// incident the first registration created, so a retry never duplicates.
	Key string
	// MessageID is the report's e-mail Message-ID, so that answers thread
	// under it.
	MessageID string
	// Mailbox is the help-desk address the report was sent to.
	Mailbox string
	// Conversation is where a chat report was made (Slack: CHANNEL/TS of
	// the thread), so that every answer joins it.
	Conversation string

	CI       string
	Category string
	Impact   Level
	Urgency  Level
	Group    string
}

// Register turns a report into a new incident (without id or state, which
// the store and the workflow give it). It never fails on odd text: what it
// cannot infer takes the configured default.
func (r *Rules) Register(rep Report, now time.Time) (Incident, error) {
	if !rep.Channel.Valid() {
		return Incident{}, fmt.Errorf("%w: unknown channel %q", ErrInvalid, rep.Channel)
	}
	if strings.TrimSpace(rep.Subject) == "" && strings.TrimSpace(rep.Description) == "" {
		return Incident{}, fmt.Errorf("%w: a report needs a subject or a description", ErrInvalid)
	}
	for _, l := range []Level{rep.Impact, rep.Urgency} {
		if l != "" && !l.Valid() {
			return Incident{}, fmt.Errorf("%w: impact and urgency must be high, medium or low, not %q", ErrInvalid, l)
		}
	}
	if rep.Group != "" && !r.HasGroup(rep.Group) {
		return Incident{}, fmt.Errorf("%w: unknown group %q", ErrInvalid, rep.Group)
	}
	if rep.Category != "" && !r.HasCategory(rep.Category) {
		return Incident{}, fmt.Errorf("%w: unknown category %q", ErrInvalid, rep.Category)
	}
	if rep.Reporter.Language != "" && !rep.Reporter.Language.Valid() {
		return Incident{}, fmt.Errorf("%w: language must be en or es, not %q", ErrInvalid, rep.Reporter.Language)
	}
	if rep.Reporter.Email != "" {
		a, err := mail.ParseAddress(rep.Reporter.Email)
		if err != nil || a.Address != rep.Reporter.Email {
			return Incident{}, fmt.Errorf("%w: reporter email %q is not a plain address like ana@example.com", ErrInvalid, rep.Reporter.Email)
		}
	}
	// One-line fields end up in mail headers and tables: no line breaks
	// or other control characters get through.
	rep.Subject, rep.CI, rep.Group = oneLine(rep.Subject), oneLine(rep.CI), oneLine(rep.Group)
	rep.Reporter.Name, rep.Reporter.SlackID = oneLine(rep.Reporter.Name), oneLine(rep.Reporter.SlackID)
	text := indexWords(words(rep.Subject + "\n" + rep.Description))

	inc := Incident{
		Channel:      rep.Channel,
		Reporter:     rep.Reporter,
		Subject:      strings.TrimSpace(rep.Subject),
		Description:  strings.TrimSpace(rep.Description),
		RelatedID:    rep.RelatedID,
		RegisteredBy: rep.Agent,
		MailIDs:      nonEmpty(rep.MessageID),
		Mailbox:      oneLine(rep.Mailbox),
		Conversation: oneLine(rep.Conversation),
		ReportedAt:   rep.ReportedAt,
		RegisteredAt: now,
		Level:        1,
	}
	if inc.ReportedAt.IsZero() {
		inc.ReportedAt = now
	}
	if inc.Subject == "" {
		inc.Subject = firstLine(inc.Description, 80)
	}
	if inc.Reporter.Language == "" {
		inc.Reporter.Language = detectLanguage(rep.Subject+"\n"+rep.Description, text, r.defaultLang)
	}

	inc.Category, inc.Group = rep.Category, rep.Group
	if inc.Category == "" {
		inc.Category = r.classify(text)
	}
	if inc.Group == "" {
		inc.Group = r.groupOf(inc.Category)
	}
	inc.CI = rep.CI
	if inc.CI == "" {
		inc.CI = r.detectCI(text)
	}
	inc.Impact = pick(rep.Impact, r.impactWords, text, r.defaultImpact)
	inc.Urgency = pick(rep.Urgency, r.urgencyWords, text, r.defaultUrgency)
	inc.Priority = r.Priority(inc.Impact, inc.Urgency)
	return inc, nil
}

// classify picks the category with the most keyword hits; ties go to the
// one configured first, and no hit at all to the default.
func (r *Rules) classify(text wordIndex) string {
	best, bestHits := r.defaultCategory, 0
	for _, c := range r.categories {
		hits := 0
		for _, kw := range c.Keywords {
			if text.has(kw) {
				hits++
			}
		}
		if hits > bestHits {
			best, bestHits = c.Name, hits
		}
	}
	return best
}

func (r *Rules) groupOf(category string) string {
	for _, c := range r.categories {
		if c.Name == category && c.Group != "" {
			return c.Group
		}
	}
	return r.defaultGroup
}

// detectCI returns the catalogue item named earliest in the text, so that
// "the VPN drops when I open Outlook" is about the VPN.
func (r *Rules) detectCI(text wordIndex) string {
	best, bestAt := "", len(text.text)+1
	for _, ci := range r.cis {
		for _, alias := range ci.Aliases {
			if at := text.index(alias); at >= 0 && at < bestAt {
				best, bestAt = ci.Name, at
			}
		}
	}
	return best
}

// pick returns the explicit level when given, else the highest level whose
// keywords appear in the text, else the default.
func pick(explicit Level, table map[Level][]string, text wordIndex, def Level) Level {
	if explicit != "" {
		return explicit
	}
	for _, l := range []Level{High, Medium, Low} {
		for _, kw := range table[l] {
			if text.has(kw) {
				return l
			}
		}
	}
	return def
}

// oneLine replaces control characters (line breaks included) by spaces and
// trims the result.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == ' ' }), " ")
}

func firstLine(s string, max int) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(line); len(r) > max {
		line = string(r[:max-1]) + "…"
	}
	return strings.TrimSpace(line)
}

// fold lowercases s and removes accents, so that "Caído" matches "caido".
func fold(s string) string {
	if isASCII(s) {
		// Nothing to decompose or strip: the transform below would copy s
		// rune by rune through three stages for nothing (most mail is
		// ASCII, and registration folds every report twice).
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// words folds s and reduces it to single-space separated words wrapped in
// spaces, so that a keyword is found as a whole word with a plain substring
// search for " keyword ".
func words(s string) string {
	if !isASCII(s) {
		if s = fold(s); !isASCII(s) {
			f := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
			return " " + strings.Join(f, " ") + " "
		}
	}
	// The same as above, byte by byte, lowercasing as it goes (fold is
	// strings.ToLower for ASCII): registration's hottest loop.
	b := make([]byte, 1, len(s)+2)
	b[0] = ' '
	gap := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			if gap && len(b) > 1 {
				b = append(b, ' ')
			}
			b, gap = append(b, c), false
		} else {
			gap = true
		}
	}
	return string(append(b, ' '))
}

func foldAll(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if w := strings.TrimSpace(words(s)); w != "" {
			out = append(out, w)
		}
	}
	return out
}

func foldLevelWords(m map[Level][]string) map[Level][]string {
	out := make(map[Level][]string, len(m))
	for l, list := range m {
		out[l] = foldAll(list)
	}
	return out
}

// wordIndex is a text's words (as words returns them) with where each
// first appears and how often, so that a keyword is looked up instead of
// searched for: a desk's rules hold hundreds of keywords and a mail runs to
// kilobytes, and scanning the text once per keyword was most of
// registration's CPU.
type wordIndex struct {
	text  string
	words map[string]int // word -> its place in seen
	seen  []wordSeen
}

type wordSeen struct {
	at int // offset of the space before the word's first appearance
	n  int // appearances
}

func indexWords(text string) wordIndex {
	x := wordIndex{text: text, words: make(map[string]int, 64)}
	// text is " w1 w2 ... wn ": each word follows the space at i.
	for i := 0; i+1 < len(text); {
		end := i + 1 + strings.IndexByte(text[i+1:], ' ')
		if end == i {
			break
		}
		if w := text[i+1 : end]; w != "" {
			if k, ok := x.words[w]; ok {
				x.seen[k].n++
			} else {
				x.words[w] = len(x.seen)
				x.seen = append(x.seen, wordSeen{at: i, n: 1})
			}
		}
		i = end
	}
	return x
}

// count is how often word appears.
func (x wordIndex) count(word string) int {
	if k, ok := x.words[word]; ok {
		return x.seen[k].n
	}
	return 0
}

// index is where " kw " first appears in the text (kw: folded words, one
// space apart), -1 when it does not.
func (x wordIndex) index(kw string) int {
	head, rest, phrase := strings.Cut(kw, " ")
	k, ok := x.words[head]
	if !ok {
		return -1
	}
	at := x.seen[k].at
	if !phrase {
		return at
	}
	for _, w := range strings.Split(rest, " ") {
		if _, ok := x.words[w]; !ok {
			return -1
		}
	}
	// The phrase cannot start before its first word's first appearance.
	if i := strings.Index(x.text[at:], " "+kw+" "); i >= 0 {
		return at + i
	}
	return -1
}

func (x wordIndex) has(kw string) bool { return x.index(kw) >= 0 }

// DetectLanguage guesses English or Spanish from common words and Spanish
// spelling; when the text gives no clear sign it returns def.
func DetectLanguage(text string, def Lang) Lang {
	return detectLanguage(text, indexWords(words(text)), def)
}

// detectLanguage is DetectLanguage with text's words already folded and
// indexed.
func detectLanguage(text string, folded wordIndex, def Lang) Lang {
	es, en := 0, 0
	for _, r := range text {
		switch r {
		case 'ñ', 'Ñ', '¿', '¡', 'á', 'é', 'í', 'ó', 'ú':
			es++
		}
	}
	for w := range spanishWords {
		es += folded.count(w)
	}
	for w := range englishWords {
		en += folded.count(w)
	}
	switch {
	case es > en:
		return Spanish
	case en > es:
		return English
	}
	return def
}

var spanishWords = setOf("el", "la", "los", "las", "de", "del", "que", "y", "en", "por", "para", "con", "una", "un",
	"es", "esta", "mi", "me", "se", "funciona", "hola", "gracias", "buenos", "dias", "tardes", "desde", "manana",
	"puedo", "ayuda", "correo", "pero", "como", "cuando", "tengo", "hay", "nos", "al", "lo", "le", "sin", "todavia", "sigue")

var englishWords = setOf("the", "is", "are", "my", "it", "to", "and", "of", "in", "for", "with", "please", "hello",
	"hi", "thanks", "thank", "can", "cannot", "since", "this", "that", "not", "doesn", "working", "help", "we",
	"i", "have", "has", "from", "morning", "still", "an", "be", "on", "at")

func setOf(list ...string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, w := range list {
		m[w] = true
	}
	return m
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
