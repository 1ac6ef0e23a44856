package localmail

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// AuthResultsHeader is the header this server adds to every mail it takes.
const AuthResultsHeader = "Authentication-Results"

// stamp reads a mail as a receiving server does: it removes every
// Authentication-Results header that claims to be this server's (a sender
// could have written one) and puts its own on top (RFC 8601): auth=pass
// with the address the SMTP session authenticated as, or auth=none. Local
// mode trusts this server's authserv-id (its domain), so an answer from
// demo@ counts only when demo's client logged in as demo@, as a real
// submission server would make sure.
func stamp(r io.Reader, domain, authed string) ([]byte, error) {
	br := bufio.NewReader(r)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, fmt.Errorf("read the mail's header: %w", err)
	}
	for f := h.FieldsByKey(AuthResultsHeader); f.Next(); {
		if strings.EqualFold(authservID(f.Value()), domain) {
			f.Del()
		}
	}
	result := "auth=none"
	if authed != "" {
		result = "auth=pass smtp.auth=" + authed
	}
	h.Add(AuthResultsHeader, domain+"; "+result) // Add puts it first
	var out bytes.Buffer
	if err := textproto.WriteHeader(&out, h); err != nil {
		return nil, err
	}
	if _, err := io.Copy(&out, br); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// authservID is the first word of an Authentication-Results value, the
// server that claims to have added it; comments are skipped.
func authservID(v string) string {
	v = strings.TrimSpace(v)
	for strings.HasPrefix(v, "(") {
		end := strings.IndexByte(v, ')')
		if end < 0 {
			return ""
		}
		v = strings.TrimSpace(v[end+1:])
	}
	id, _, _ := strings.Cut(v, ";")
	if f := strings.Fields(id); len(f) > 0 {
		return f[0]
	}
	return ""
}
