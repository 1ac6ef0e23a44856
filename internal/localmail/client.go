package localmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// This file is the client side of local mode: "intakebot local send" and
// "local inbox" write and read mail as the demo user, so that trying
// intakebot needs no mail client and no swaks.

// File is an attachment of an outgoing mail.
type File struct {
	Name    string
	Content []byte
}

// Outgoing is a mail to send.
type Outgoing struct {
	From        Account // who sends it, logged in with AUTH PLAIN
	To          string
	Subject     string
	Body        string
	InReplyTo   string // a Message-ID without <>, or ""
	Attachments []File
}

// Compose writes the mail as a simple mail client would: plain text in
// UTF-8, and multipart/mixed when files are attached.
func Compose(m Outgoing) ([]byte, error) {
	var h mail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{{Address: m.From.Address}})
	h.SetAddressList("To", []*mail.Address{{Address: m.To}})
	h.SetSubject(m.Subject)
	_, domain, _ := strings.Cut(m.From.Address, "@")
	if err := h.GenerateMessageIDWithHostname(domain); err != nil {
		return nil, err
	}
	if m.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{m.InReplyTo})
		h.SetMsgIDList("References", []string{m.InReplyTo})
	}
	body := strings.ReplaceAll(m.Body, "\r\n", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	var buf bytes.Buffer
	if len(m.Attachments) == 0 {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		w, err := mail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, body); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th mail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, f := range m.Attachments {
		var ah mail.AttachmentHeader
		typ := mime.TypeByExtension(filepath.Ext(f.Name))
		if typ == "" {
			typ = "application/octet-stream"
		}
		ah.SetContentType(typ, nil)
		ah.SetFilename(f.Name)
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := aw.Write(f.Content); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Send delivers m over SMTP at addr, logged in as m.From with AUTH PLAIN.
// It returns the Message-ID it gave the mail.
func Send(ctx context.Context, addr string, m Outgoing) (string, error) {
	raw, err := Compose(m)
	if err != nil {
		return "", err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", m.From.Address, m.From.Password)); err != nil {
		return "", fmt.Errorf("log in as %s: %w", m.From.Address, err)
	}
	if err := c.SendMail(m.From.Address, []string{m.To}, bytes.NewReader(raw)); err != nil {
		return "", err
	}
	if err := c.Quit(); err != nil {
		return "", err
	}
	return messageID(raw), nil
}

func messageID(raw []byte) string {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	id, _ := r.Header.MessageID()
	return id
}

// Mail is one mail of an inbox, with what a reader acts on.
type Mail struct {
	Date      time.Time `json:"date"`
	From      string    `json:"from"`
	Subject   string    `json:"subject"`
	MessageID string    `json:"message_id"`
	// ReplyTo is where an answer goes: the bot's Reply-To carries the
	// incident's reply token.
	ReplyTo string `json:"reply_to"`
	// Links are the web addresses in the text (survey and portal links),
	// in order, each once.
	Links []string `json:"links"`
}

// Inbox reads the account's INBOX over IMAP at addr, newest first, at most
// limit mails (0: all). Nothing is marked as read.
func Inbox(ctx context.Context, addr string, a Account, limit int) ([]Mail, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(a.Address, a.Password).Wait(); err != nil {
		return nil, fmt.Errorf("log in as %s: %w", a.Address, err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, err
	}
	var mails []Mail
	if sel.NumMessages > 0 {
		first := uint32(1)
		if limit > 0 && sel.NumMessages > uint32(limit) {
			first = sel.NumMessages - uint32(limit) + 1
		}
		body := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: first, Stop: sel.NumMessages}}, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{body}, InternalDate: true}).Collect()
		if err != nil {
			return nil, err
		}
		for _, msg := range msgs {
			m, err := ReadMail(msg.FindBodySection(body))
			if err != nil {
				return nil, fmt.Errorf("mail %d of %s: %w", msg.SeqNum, a.Address, err)
			}
			if m.Date.IsZero() {
				m.Date = msg.InternalDate
			}
			mails = append(mails, m)
		}
	}
	_ = c.Logout().Wait()
	// Newest first; mails delivered in the same second keep the order the
	// server gave them, which is delivery order.
	slices.Reverse(mails)
	slices.SortStableFunc(mails, func(x, y Mail) int { return y.Date.Compare(x.Date) })
	return mails, nil
}

// linkRe finds web addresses in plain text.
var linkRe = regexp.MustCompile(`https?://[^\s<>"]+`)

// ReadMail takes from a raw mail what Inbox shows.
func ReadMail(raw []byte) (Mail, error) {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	defer r.Close()
	var m Mail
	m.Date, _ = r.Header.Date()
	m.Subject, _ = r.Header.Subject()
	m.MessageID, _ = r.Header.MessageID()
	if from, err := r.Header.AddressList("From"); err == nil && len(from) > 0 {
		m.From, m.ReplyTo = from[0].Address, from[0].Address
		if from[0].Name != "" {
			m.From = from[0].Name + " <" + from[0].Address + ">"
		}
	}
	if to, err := r.Header.AddressList("Reply-To"); err == nil && len(to) > 0 {
		m.ReplyTo = to[0].Address
	}
	text := ""
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, err
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			typ, _, _ := h.ContentType()
			if typ == "text/plain" && text == "" {
				b, err := io.ReadAll(p.Body)
				if err != nil {
					return m, err
				}
				text = string(b)
			}
		}
	}
	for _, link := range linkRe.FindAllString(text, -1) {
		link = strings.TrimRight(link, ".,;:)")
		if !slices.Contains(m.Links, link) {
			m.Links = append(m.Links, link)
		}
	}
	return m, nil
}
