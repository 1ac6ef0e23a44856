package localmail

import (
	"regexp"
	"strings"
)

// bannerRe reads one line of the banner: IMAP or SMTP and an address, or
// user, an address and a password.
var bannerRe = regexp.MustCompile(`^  (IMAP|SMTP|user)  (\S+)(?:\s+password (\S+))?`)

// Banner is what PrintBanner tells, read back from serve's output (by the
// demo and the tests): where the servers listen and the accounts.
type Banner struct {
	IMAPAddr, SMTPAddr string
	Helpdesk, Demo     Account
}

// Read takes what a line of serve's output says, if it is a banner line.
func (b *Banner) Read(line string) {
	m := bannerRe.FindStringSubmatch(line)
	switch {
	case m == nil:
	case m[1] == "IMAP":
		b.IMAPAddr = m[2]
	case m[1] == "SMTP":
		b.SMTPAddr = m[2]
	case strings.HasPrefix(m[2], Helpdesk+"@"):
		b.Helpdesk = Account{Address: m[2], Password: m[3]}
	case strings.HasPrefix(m[2], Demo+"@"):
		b.Demo = Account{Address: m[2], Password: m[3]}
	}
}

// Complete says whether the whole banner was read.
func (b *Banner) Complete() bool {
	return b.IMAPAddr != "" && b.SMTPAddr != "" && b.Helpdesk.Password != "" && b.Demo.Password != ""
}
