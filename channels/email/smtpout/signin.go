package smtpout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/intakebot/intakebot/intake"
)

// KindSignIn is the template of the portal's sign-in mail. It is not an
// incident notice: it goes out at once, never through the outbox (see
// channels/web/portal's askLink for why).
const KindSignIn intake.NoticeKind = "signin"

// SignIn writes the mail that carries a portal sign-in link to address, in
// lang. Its ID, and so its Message-ID, comes from the link: a retry of the
// same link is recognisably the same mail.
func (r Renderer) SignIn(address string, lang intake.Lang, link string) (Mail, error) {
	if !lang.Valid() {
		lang = intake.English
	}
	text, err := r.Texts.Render(string(lang), string(KindSignIn), noticeData{SignInURL: link, Org: r.Org})
	if err != nil {
		return Mail{}, fmt.Errorf("render %s/%s: %w", lang, KindSignIn, err)
	}
	sum := sha256.Sum256([]byte(link))
	return Mail{ID: "signin:" + hex.EncodeToString(sum[:12]), Kind: KindSignIn, Lang: lang, Email: address,
		Subject: text.Subject, Text: text.Text, HTML: text.HTML}, nil
}

// SignInMailer sends the portal's sign-in mails through the e-mail
// channel's sender (portal.Mailer).
type SignInMailer struct {
	Sender *Sender
	Render Renderer
}

// SendSignIn writes and sends one sign-in mail.
func (m SignInMailer) SendSignIn(ctx context.Context, to string, lang intake.Lang, link string) error {
	mail, err := m.Render.SignIn(to, lang, link)
	if err != nil {
		return err
	}
	return m.Sender.Send(ctx, mail)
}
