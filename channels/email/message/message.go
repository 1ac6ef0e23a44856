// Package message turns a raw RFC 5322 mail into the fields intakebot needs
// to open or thread an incident. It does no network I/O.
//
// Parsing is best-effort wherever a person could still read the mail: a part
// in an unknown charset or with a broken transfer encoding is kept and the
// problem recorded as a Warning. Only problems that leave nothing usable
// (oversized input, an unreadable header, no sender) are errors.
package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // registers every charset go-message knows
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/inbucket/html2text"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Limits applied when the corresponding Options field is zero.
const (
	DefaultMaxMessageBytes    = 25 << 20
	DefaultMaxAttachmentBytes = 10 << 20
)

// Errors returned by Parse; they are wrapped with detail, test with errors.Is.
var (
	ErrTooLarge  = errors.New("message too large")
	ErrMalformed = errors.New("malformed message")
	ErrNoFrom    = errors.New("no parseable From address")
)

// Options bounds the resources Parse may spend on one mail.
type Options struct {
	// MaxMessageBytes rejects bigger input with ErrTooLarge.
	// Zero means DefaultMaxMessageBytes, a negative value means no limit.
	MaxMessageBytes int64
	// MaxAttachmentBytes is how much of each attachment's decoded content is
	// kept; a bigger attachment keeps its first MaxAttachmentBytes bytes and
	// is marked Truncated.
	// Zero means DefaultMaxAttachmentBytes, a negative value keeps no content.
	MaxAttachmentBytes int64
}

// Address is a mailbox; Address is lower-cased so it can be compared directly.
type Address struct {
	Name    string
	Address string
}

// String formats the address for logs, not for headers.
func (a Address) String() string {
	if a.Name == "" {
		return "<" + a.Address + ">"
	}
	return a.Name + " <" + a.Address + ">"
}

// Attachment is any non-body part, including forwarded messages and
// delivery-status reports.
type Attachment struct {
	Filename    string
	ContentType string
	// Size is the decoded size of the whole part, even when Truncated.
	Size    int64
	Content []byte
	// Truncated says Content holds only the first bytes of the attachment.
	Truncated bool
}

// Warning kinds, stable for logs and metrics.
const (
	WarnUnknownCharset  = "unknown-charset"
	WarnUnknownEncoding = "unknown-encoding"
	WarnBadEncoding     = "bad-encoding"
	WarnMalformedMIME   = "malformed-mime"
	WarnBadHeader       = "bad-header"
	WarnInvalidUTF8     = "invalid-utf8"
)

// Warning records something Parse worked around instead of failing.
type Warning struct {
	Kind   string
	Where  string // header name or MIME part path such as "part 1.2"
	Detail string
}

func (w Warning) String() string {
	return w.Kind + " (" + w.Where + "): " + w.Detail
}

// Message is a parsed mail.
type Message struct {
	MessageID  string
	InReplyTo  string
	References []string
	From       Address
	To         []Address
	Cc         []Address
	ReplyTo    []Address
	Subject    string
	Date       time.Time
	// Text is the readable body: the text/plain part, or the HTML part
	// converted to text when the mail has no usable plain-text part.
	Text string
	// HTML is the raw text/html body, if any, already decoded to UTF-8.
	HTML        string
	Attachments []Attachment
	// ContentType is the top-level media type, PartTypes the media type of
	// every leaf part in order; Automated needs both.
	ContentType string
	PartTypes   []string
	Header      textproto.Header
	Size        int
	Warnings    []Warning
}

var (
	angleAddrRe = regexp.MustCompile(`<\s*([^<>\s]+@[^<>\s]+?)\s*>`)
	bareAddrRe  = regexp.MustCompile(`[^\s<>"(),;:\[\]]+@[^\s<>"(),;:\[\]]+`)
	msgIDRe     = regexp.MustCompile(`<([^<>\s]+)>`)
)

// Parse parses raw as one mail. It never panics; see the package doc for
// which problems are errors and which become Warnings.
//
// With ErrNoFrom the returned Message is nevertheless filled in, because a
// bounce without a sender must still be recognised by Detector.Automated and
// dropped quietly rather than logged as a failed intake. Every other error
// returns a nil Message.
func Parse(raw []byte, opts Options) (*Message, error) {
	maxMsg := opts.MaxMessageBytes
	if maxMsg == 0 {
		maxMsg = DefaultMaxMessageBytes
	}
	if maxMsg > 0 && int64(len(raw)) > maxMsg {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), maxMsg)
	}
	maxAtt := opts.MaxAttachmentBytes
	if maxAtt == 0 {
		maxAtt = DefaultMaxAttachmentBytes
	}

	size := len(raw)
	raw = stripMboxFromLine(raw)
	entity, err := readEntity(raw)
	if entity == nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}

	m := &Message{Header: entity.Header.Header, Size: size}
	// Walk reports part errors but not the root's, which Read returned.
	switch {
	case gomessage.IsUnknownCharset(err):
		m.warn(WarnUnknownCharset, "body", err)
	case gomessage.IsUnknownEncoding(err):
		m.warn(WarnUnknownEncoding, "body", err)
	}
	h := mail.Header{Header: entity.Header}
	fromErr := m.parseHeader(h)
	m.ContentType = mediaType(entity.Header)
	m.parseBody(entity, raw, maxAtt)
	return m, fromErr
}

// readEntity needs no header limit of its own: the whole mail is already in
// memory and bounded by MaxMessageBytes.
func readEntity(raw []byte) (*gomessage.Entity, error) {
	return gomessage.ReadWithOptions(bytes.NewReader(raw), &gomessage.ReadOptions{MaxHeaderBytes: -1})
}

// stripMboxFromLine drops the "From sender date" envelope line that mbox and
// some maildir exports put before the header; it is not a header field.
func stripMboxFromLine(raw []byte) []byte {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return raw
}

func (m *Message) warn(kind, where string, detail any) {
	m.Warnings = append(m.Warnings, Warning{Kind: kind, Where: where, Detail: fmt.Sprint(detail)})
}

func (m *Message) parseHeader(h mail.Header) error {
	from := m.addresses(h, "From")
	if len(from) == 0 {
		// Sender is what RFC 5322 offers when From is a group or missing.
		from = m.addresses(h, "Sender")
	}
	if len(from) == 0 {
		return fmt.Errorf("%w: From: %q", ErrNoFrom, h.Get("From"))
	}
	m.From = from[0]
	m.To = m.addresses(h, "To")
	m.Cc = m.addresses(h, "Cc")
	m.ReplyTo = m.addresses(h, "Reply-To")

	subject, err := h.Subject()
	if err != nil {
		m.warn(WarnBadHeader, "Subject", err)
	}
	m.Subject = validUTF8(subject)

	if h.Has("Date") {
		d, err := parseDate(h.Get("Date"))
		if err != nil {
			m.warn(WarnBadHeader, "Date", err)
		} else {
			m.Date = d
		}
	}

	m.MessageID = firstID(m.msgIDs(h, "Message-Id"))
	m.InReplyTo = firstID(m.msgIDs(h, "In-Reply-To"))
	m.References = m.msgIDs(h, "References")
	return nil
}

func firstID(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// msgIDs falls back to anything in angle brackets, because threading on a
// slightly malformed id beats losing the thread.
func (m *Message) msgIDs(h mail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err == nil {
		return ids
	}
	m.warn(WarnBadHeader, key, err)
	var out []string
	for _, sm := range msgIDRe.FindAllStringSubmatch(h.Get(key), -1) {
		out = append(out, sm[1])
	}
	if len(out) == 0 {
		if v := strings.TrimSpace(h.Get(key)); v != "" && !strings.ContainsAny(v, " \t") {
			out = append(out, strings.Trim(v, "<>"))
		}
	}
	return out
}

// parseDate reads a Date field as net/mail does (go-message's Date is
// net/mail's ParseDate). Nearly every client writes RFC 5322's preferred
// form, which one time.Parse reads at a fraction of ParseDate's cost (it
// strips comments and tries a dozen layouts, ~8 µs a mail at ingest); any
// other form goes the long way, so the result is the same.
func parseDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC1123Z, v); err == nil {
		return t, nil
	}
	return netmail.ParseDate(v)
}

// addresses falls back to scraping addr-specs, because real mail often has
// unquoted commas or broken encoded words in display names.
func (m *Message) addresses(h mail.Header, key string) []Address {
	list, err := h.AddressList(key)
	if err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: validUTF8(a.Name), Address: strings.ToLower(a.Address)})
		}
		return out
	}
	m.warn(WarnBadHeader, key, err)
	return lenientAddresses(h.Get(key))
}

func lenientAddresses(v string) []Address {
	var out []Address
	dec := mime.WordDecoder{CharsetReader: gomessage.CharsetReader}
	for _, field := range splitOutsideQuotes(v) {
		var addr, name string
		if sm := angleAddrRe.FindStringSubmatchIndex(field); sm != nil {
			addr = field[sm[2]:sm[3]]
			name = strings.Trim(strings.TrimSpace(field[:sm[0]]), `"' `)
		} else if a := bareAddrRe.FindString(field); a != "" {
			addr = a
		} else {
			continue
		}
		if decoded, err := dec.DecodeHeader(name); err == nil {
			name = decoded
		}
		out = append(out, Address{Name: validUTF8(name), Address: strings.ToLower(addr)})
	}
	return out
}

func splitOutsideQuotes(v string) []string {
	var out []string
	inQuote, inAngle := false, false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			inQuote = !inQuote
		case '<':
			inAngle = true
		case '>':
			inAngle = false
		case ',', ';':
			if !inQuote && !inAngle {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

func mediaType(h gomessage.Header) string {
	t, _, err := h.ContentType()
	if err != nil || t == "" {
		// RFC 2045 section 5.2: a missing or unparseable type is text/plain.
		return "text/plain"
	}
	return t
}

func partName(path []int) string {
	if len(path) == 0 {
		return "body"
	}
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = fmt.Sprint(p + 1)
	}
	return "part " + strings.Join(parts, ".")
}

func (m *Message) parseBody(entity *gomessage.Entity, raw []byte, maxAtt int64) {
	var plain, html []string
	leaves := 0
	walkErr := entity.Walk(func(path []int, e *gomessage.Entity, err error) error {
		where := partName(path)
		switch {
		case gomessage.IsUnknownCharset(err):
			m.warn(WarnUnknownCharset, where, err)
		case gomessage.IsUnknownEncoding(err):
			m.warn(WarnUnknownEncoding, where, err)
		}
		if _, _, ctErr := e.Header.ContentType(); ctErr != nil && e.Header.Has("Content-Type") {
			m.warn(WarnBadHeader, where+" Content-Type", ctErr)
		}
		if e.MultipartReader() != nil {
			return nil
		}
		leaves++
		t := mediaType(e.Header)
		m.PartTypes = append(m.PartTypes, t)

		ah := mail.AttachmentHeader{Header: e.Header}
		disp, _, _ := e.Header.ContentDisposition()
		filename, _ := ah.Filename()
		isBody := disp != "attachment" && filename == "" && (t == "text/plain" || t == "text/html")
		if isBody {
			b, readErr := io.ReadAll(e.Body)
			if readErr != nil {
				m.warn(WarnBadEncoding, where, readErr)
			}
			s := m.toText(b, where)
			if t == "text/plain" {
				plain = append(plain, s)
			} else {
				html = append(html, s)
			}
			return nil
		}
		m.Attachments = append(m.Attachments, m.readAttachment(e.Body, where, validUTF8(filename), t, maxAtt))
		return nil
	})
	if walkErr != nil {
		m.warn(WarnMalformedMIME, "body", walkErr)
		if leaves == 0 {
			// A multipart whose boundaries never appear is still readable
			// by a person, so show its body as plain text.
			if e, _ := readEntity(raw); e != nil {
				b, _ := io.ReadAll(e.Body)
				plain = append(plain, m.toText(b, "body"))
			}
		}
	}

	m.Text = strings.Join(plain, "\n")
	m.HTML = strings.Join(html, "\n")
	if strings.TrimSpace(m.Text) == "" && m.HTML != "" {
		text, err := HTMLToText(m.HTML)
		if err != nil {
			m.warn(WarnMalformedMIME, "html", err)
		}
		m.Text = text
	}
}

func (m *Message) toText(b []byte, where string) string {
	if utf8.Valid(b) {
		return string(b)
	}
	// Undeclared or unknown charsets land here; keeping the ASCII parts
	// readable is better than dropping the body.
	m.warn(WarnInvalidUTF8, where, "replaced invalid UTF-8 bytes")
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func (m *Message) readAttachment(body io.Reader, where, filename, contentType string, maxAtt int64) Attachment {
	a := Attachment{Filename: filename, ContentType: contentType}
	keep := maxAtt
	if keep < 0 {
		keep = 0
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(body, keep))
	rest := int64(0)
	if err == nil {
		rest, err = io.Copy(io.Discard, body)
	}
	if err != nil {
		m.warn(WarnBadEncoding, where, err)
	}
	a.Size = n + rest
	// An oversized attachment keeps its first bytes (a log's head, an
	// image's header) and says it was cut, so nobody takes it for whole.
	a.Truncated = rest > 0 || (maxAtt < 0 && a.Size > 0)
	if n > 0 {
		a.Content = buf.Bytes()
	}
	return a
}

func validUTF8(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// HTMLToText renders an HTML mail body as readable plain text. Blockquotes
// become ">" lines so that quote.Visible can strip them like plain replies;
// link targets are left out because people quote the link text, not the URL.
//
// The converter builds the whole tree, and the HTML parser refuses trees
// deeper than 512 elements; mail generators (and attackers) nest far deeper.
// When the converter fails or finds no text, a streaming tokenizer, which
// keeps no tree, extracts the text instead: coarser layout, same words. A
// non-nil error says why the fallback was used; the text is usable either way.
func HTMLToText(src string) (string, error) {
	text, err := html2text.FromString(src, html2text.Options{OmitLinks: true})
	if err == nil && strings.TrimSpace(text) != "" {
		return text, nil
	}
	if err == nil {
		// Nothing lost: a mail with no text in its HTML has none to show.
		return streamText(src), nil
	}
	return streamText(src), fmt.Errorf("html converted by the streaming fallback: %w", err)
}

// streamText is the text of src, one line per block element, with
// blockquote contents prefixed by "> " per level like the converter does.
func streamText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var out, line strings.Builder
	quoteDepth, hidden := 0, 0
	flush := func() {
		text := strings.Join(strings.Fields(line.String()), " ")
		line.Reset()
		if text == "" {
			return
		}
		out.WriteString(strings.Repeat("> ", quoteDepth))
		out.WriteString(text)
		out.WriteByte('\n')
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken: // io.EOF, or the tokenizer gave up: keep what we have
			flush()
			return strings.TrimRight(out.String(), "\n")
		case html.TextToken:
			if hidden == 0 {
				line.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if invisible[a] {
				switch {
				case tt == html.StartTagToken:
					hidden++
				case tt == html.EndTagToken && hidden > 0:
					hidden--
				}
				continue
			}
			if !lineBreaking[a] {
				continue
			}
			flush()
			if a == atom.Blockquote {
				switch {
				case tt == html.StartTagToken:
					quoteDepth++
				case tt == html.EndTagToken && quoteDepth > 0:
					quoteDepth--
				}
			}
		}
	}
}

// invisible elements hold no text a reader sees.
var invisible = map[atom.Atom]bool{atom.Head: true, atom.Script: true, atom.Style: true, atom.Title: true, atom.Template: true}

// lineBreaking elements start a new line of text.
var lineBreaking = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Br: true,
	atom.Dd: true, atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true,
	atom.Figure: true, atom.Footer: true, atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true,
	atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true, atom.Li: true,
	atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true, atom.Pre: true, atom.Section: true,
	atom.Table: true, atom.Tbody: true, atom.Td: true, atom.Tfoot: true, atom.Th: true, atom.Thead: true,
	atom.Tr: true, atom.Ul: true,
}
