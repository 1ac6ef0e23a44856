package smtpout

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/mail"
	"strings"
	"unicode"

	gomail "github.com/emersion/go-message/mail"

	"github.com/intakebot/intakebot/intake"
)

// compose renders msg as an RFC 5322 message and returns the envelope
// recipient with it. Any error is about the data, never the network.
func (s *Sender) compose(msg Mail) (string, []byte, error) {
	to, err := mail.ParseAddress(msg.Email)
	if err != nil || hasControl(to.Address) || strings.ContainsAny(to.Address, " <>") {
		return "", nil, fmt.Errorf("recipient %q is not an e-mail address", msg.Email)
	}
	if to.Name == "" {
		to.Name = msg.Name
	}
	to.Name = cleanText(to.Name)

	aboutNone := msg.IncidentID == "" && msg.Kind == KindSignIn
	var msgID string
	if aboutNone {
		// Its ID is "signin:HASH": a Message-ID of its own, which a reply
		// cannot thread under an incident.
		msgID = strings.ReplaceAll(msg.ID, ":", ".") + "@" + s.domain
	} else if msgID, err = s.tokens.MessageID(msg.ID, s.domain); err != nil {
		return "", nil, err
	}
	me := s.identity(msg.From)
	// The reply address is this recipient's own: a reply sent to it proves
	// the mail reached them (see replytoken).
	// A mail about no incident (the portal's sign-in link) has none: a
	// reply to it goes to the help desk like any new mail.
	var replyTo string
	if !aboutNone {
		replyTo = s.tokens.ReplyAddress(me.Address, msg.IncidentID, to.Address)
		if replyTo == "" {
			return "", nil, fmt.Errorf("incident id %q is not like INC-000123", msg.IncidentID)
		}
	}
	lang := msg.Lang
	if !lang.Valid() {
		lang = intake.English
	}

	var h gomail.Header
	h.SetAddressList("From", []*gomail.Address{{Name: me.Name, Address: me.Address}})
	h.SetAddressList("To", []*gomail.Address{{Name: to.Name, Address: to.Address}})
	if replyTo != "" {
		h.SetAddressList("Reply-To", []*gomail.Address{{Name: me.Name, Address: replyTo}})
	}
	// SetSubject encodes non-ASCII text as RFC 2047 encoded-words, and so
	// would it encode a CR or LF; we flatten control characters first anyway
	// so that a subject can never carry a line break into the header block,
	// whatever the library does.
	h.SetSubject(cleanText(msg.Subject))
	h.SetDate(s.now())
	h.SetMessageID(msgID)
	if id := cleanMsgID(msg.InReplyTo); id != "" {
		h.SetMsgIDList("In-Reply-To", []string{id})
	}
	var refs []string
	for _, r := range msg.References {
		if id := cleanMsgID(r); id != "" {
			refs = append(refs, id)
		}
	}
	h.SetMsgIDList("References", refs)
	// RFC 3834: an automatic answer says so, so that vacation responders and
	// other bots do not answer it back.
	h.Set("Auto-Submitted", "auto-replied")
	h.Set(s.loopHeader, s.from.Address)
	h.Set("Content-Language", string(lang))

	var buf bytes.Buffer
	mw, err := gomail.CreateInlineWriter(&buf, h)
	if err != nil {
		return "", nil, err
	}
	if err := writePart(mw, "text/plain", msg.Text); err != nil {
		return "", nil, err
	}
	page := msg.HTML
	if page == "" {
		page = textToHTML(msg.Text, lang)
	}
	if err := writePart(mw, "text/html", page); err != nil {
		return "", nil, err
	}
	if err := mw.Close(); err != nil {
		return "", nil, err
	}
	return to.Address, buf.Bytes(), nil
}

func writePart(mw *gomail.InlineWriter, contentType, body string) error {
	var ph gomail.InlineHeader
	ph.SetContentType(contentType, map[string]string{"charset": "utf-8"})
	// Quoted-printable keeps mostly-ASCII text readable in the raw message
	// and every line short and 7-bit, whatever the server supports.
	ph.Set("Content-Transfer-Encoding", "quoted-printable")
	w, err := mw.CreatePart(ph)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, body); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// cleanMsgID returns a Message-ID from someone else's mail without angle
// brackets, or "" when it is unusable. These ids come from the reporter's
// mail, so they are outside data: anything that could break out of the
// header (CR, LF, brackets, spaces) drops the id, since threading is a
// nicety and a refused delivery is not.
func cleanMsgID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if id == "" || len(id) > 900 {
		return ""
	}
	for _, r := range id {
		if r <= ' ' || r == '<' || r == '>' || r == 0x7f || r > unicode.MaxASCII {
			return ""
		}
	}
	if !strings.Contains(id, "@") {
		return ""
	}
	return id
}

// cleanText flattens a header text to one line: every control character
// (CR and LF included) becomes a space and runs of spaces collapse.
func cleanText(s string) string {
	if !hasControl(s) {
		return s
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > unicode.MaxASCII {
			return false
		}
	}
	return true
}

// isFieldName reports whether s is a header field name (RFC 5322 ftext).
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' {
			return false
		}
	}
	return true
}

// textToHTML renders the plain text as a small HTML document: escaped,
// blank lines as paragraph breaks, single newlines as <br>, http(s) URLs as
// links. It is derived, never authored, so both parts always say the same.
func textToHTML(text string, lang intake.Lang) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"")
	b.WriteString(html.EscapeString(string(lang)))
	b.WriteString("\">\n<head>\n<meta charset=\"utf-8\">\n</head>\n<body>\n")
	for _, para := range splitParagraphs(text) {
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			b.WriteString(linkify(line))
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

// splitParagraphs splits on lines that are empty or only white space and
// drops empty paragraphs.
func splitParagraphs(text string) []string {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, strings.TrimRight(line, " \t"))
	}
	flush()
	return paras
}

// linkify escapes one line of text and turns its http(s) URLs into links.
// A URL runs to the next white space or character that cannot appear bare
// in one (<, >, "), less trailing sentence punctuation.
func linkify(line string) string {
	var b strings.Builder
	rest := line
	for {
		start := findURL(rest)
		if start < 0 {
			b.WriteString(html.EscapeString(rest))
			return b.String()
		}
		end := start + strings.IndexFunc(rest[start:], func(r rune) bool {
			return unicode.IsSpace(r) || r == '<' || r == '>' || r == '"'
		})
		if end < start {
			end = len(rest)
		}
		u := trimURL(rest[start:end])
		b.WriteString(html.EscapeString(rest[:start]))
		esc := html.EscapeString(u)
		if strings.HasSuffix(u, "//") {
			// A bare scheme is not a link.
			b.WriteString(esc)
		} else {
			b.WriteString(`<a href="` + esc + `">` + esc + `</a>`)
		}
		rest = rest[start+len(u):]
	}
}

// findURL returns the index of the first "http://" or "https://" in s
// (ignoring ASCII case), or -1. It compares bytes of s itself: lower-casing
// s first would shift indexes where a character grows (Ⱥ -> ⱥ).
func findURL(s string) int {
	for i := 0; i+7 <= len(s); i++ {
		if s[i] != 'h' && s[i] != 'H' {
			continue
		}
		if strings.EqualFold(s[i:i+7], "http://") || (i+8 <= len(s) && strings.EqualFold(s[i:i+8], "https://")) {
			return i
		}
	}
	return -1
}

// trimURL drops sentence punctuation that follows a URL in prose ("see
// https://x.test/a." or "(https://x.test/a)"), keeping a closing parenthesis
// that the URL itself opened.
func trimURL(u string) string {
	for len(u) > 0 {
		last := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?'", last) >= 0:
			u = u[:len(u)-1]
		case last == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
			u = u[:len(u)-1]
		default:
			return u
		}
	}
	return u
}
