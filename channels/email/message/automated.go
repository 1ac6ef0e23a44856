package message

import (
	"strings"
)

// Reasons returned by Detector.Automated; stable strings for logs and metrics.
const (
	ReasonAutoReply  = "auto-reply"
	ReasonBounce     = "bounce"
	ReasonLoop       = "loop"
	ReasonOwnAddress = "own-address"
)

// Detector decides whether a mail was sent by a machine. Such mail must never
// open an incident nor be answered, or two robots mail each other forever.
type Detector struct {
	// OwnAddresses are the bot's own addresses; mail from them is our echo.
	OwnAddresses []string
	// LoopHeader is the header the bot stamps on everything it sends, for
	// example "X-Intakebot-Loop". Empty disables the check.
	LoopHeader string
}

// Automated reports whether m is an auto-reply, a bounce, or our own mail
// coming back, and why. The order puts our own signals first (they are
// certain), then bounce evidence (report structure, the sender mailbox
// reserved for the mail system), then self-declared automation, and last the
// null reverse-path, which RFC 3834 auto-replies share with bounces.
func (d Detector) Automated(m *Message) (reason string, ok bool) {
	if m == nil {
		return "", false
	}
	h := m.Header
	if d.LoopHeader != "" && h.Has(d.LoopHeader) {
		return ReasonLoop, true
	}
	for _, own := range d.OwnAddresses {
		if own = strings.TrimSpace(own); own != "" && strings.EqualFold(own, m.From.Address) {
			return ReasonOwnAddress, true
		}
	}

	// RFC 6522 reports (DSNs, ARF feedback, MDNs) are machine-generated.
	if m.ContentType == "multipart/report" {
		return ReasonBounce, true
	}
	for _, t := range m.PartTypes {
		if t == "message/delivery-status" || t == "message/global-delivery-status" {
			return ReasonBounce, true
		}
	}

	local, _, _ := strings.Cut(m.From.Address, "@")
	if strings.EqualFold(local, "mailer-daemon") || strings.EqualFold(local, "postmaster") {
		return ReasonBounce, true
	}

	// RFC 3834 section 5: anything but "no" is automatic.
	if v := headerToken(h.Get("Auto-Submitted")); v != "" && v != "no" {
		return ReasonAutoReply, true
	}
	switch headerToken(h.Get("Precedence")) {
	case "bulk", "junk", "list", "auto_reply":
		return ReasonAutoReply, true
	}
	if h.Has("X-Autoreply") || h.Has("X-Autorespond") {
		return ReasonAutoReply, true
	}
	if suppressesAutoReply(h.Get("X-Auto-Response-Suppress")) {
		return ReasonAutoReply, true
	}
	// Apple's iCloud vacation responder sets no standard header at all.
	if strings.EqualFold(strings.TrimSpace(h.Get("X-Apple-Action")), "vacation") {
		return ReasonAutoReply, true
	}

	// RFC 5321 section 4.5.5: notifications go out with a null reverse-path.
	if h.Has("Return-Path") && strings.TrimSpace(h.Get("Return-Path")) == "<>" {
		return ReasonBounce, true
	}
	return "", false
}

// headerToken lower-cases the first token and drops RFC 5322 comments and
// parameters, e.g. "Auto-Replied; owner-email=..." or "bulk (list)".
func headerToken(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(v, ";( \t"); i >= 0 {
		v = v[:i]
	}
	return v
}

// suppressesAutoReply interprets Microsoft's X-Auto-Response-Suppress
// ([MS-OXCMAIL] 2.2.3.2.20). The header is the sender asking recipients not
// to answer automatically; Exchange stamps "All" on its own automatic
// replies. Our acknowledgement is exactly such an answer, so All, OOF and
// AutoReply mean hands off; DR, NDR, RN and NRN only concern delivery and read
// receipts and say nothing about who wrote the mail.
func suppressesAutoReply(v string) bool {
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == ';' }) {
		switch strings.ToLower(f) {
		case "all", "oof", "autoreply":
			return true
		}
	}
	return false
}
