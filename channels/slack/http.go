package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// maxRequestBytes bounds what one Slack request may carry.
const maxRequestBytes = 1 << 20

// HTTPHandler serves the Events API (/slack/events), interactivity
// (/slack/interactive) and slash commands (/slack/commands) for http mode.
// Every request must carry a valid v0 signature made with secret within
// five minutes; anything else gets 401 and is not looked at.
func (b *Bot) HTTPHandler(secret string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", b.signed(secret, b.httpEvent))
	mux.HandleFunc("POST /slack/interactive", b.signed(secret, b.httpInteraction))
	mux.HandleFunc("POST /slack/commands", b.signed(secret, b.httpCommand))
	return mux
}

// signed checks a request's signature before handing its body on.
func (b *Bot) signed(secret string, next func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
		if err != nil {
			http.Error(w, "request too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		v, err := slackapi.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			if _, err = v.Write(body); err == nil {
				err = v.Ensure()
			}
		}
		if err != nil {
			b.d.Log.Warn("slack request refused", "path", r.URL.Path, "err", err)
			http.Error(w, "invalid or stale Slack signature", http.StatusUnauthorized)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ackWithin)
		defer cancel()
		next(w, r.WithContext(ctx), body)
	}
}

func (b *Bot) httpEvent(w http.ResponseWriter, r *http.Request, body []byte) {
	var probe struct{ Type, Challenge string }
	if err := json.Unmarshal(body, &probe); err != nil {
		http.Error(w, "body is not JSON", http.StatusBadRequest)
		return
	}
	if probe.Type == slackevents.URLVerification {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, probe.Challenge)
		return
	}
	b.reply(w, nil, b.HandleEvent(r.Context(), body))
}

func (b *Bot) httpInteraction(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "no payload", http.StatusBadRequest)
		return
	}
	resp, err := b.HandleInteraction(r.Context(), []byte(form.Get("payload")))
	b.reply(w, resp, err)
}

func (b *Bot) httpCommand(w http.ResponseWriter, r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	cmd, err := slackapi.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "not a slash command", http.StatusBadRequest)
		return
	}
	resp, err := b.HandleSlash(r.Context(), cmd)
	b.reply(w, resp, err)
}

// reply answers Slack: 200 once the effect is stored (with resp as JSON
// when there is one), 400 for a payload that can never work, and 500 for
// a failure a retry may cure (Slack retries events).
func (b *Bot) reply(w http.ResponseWriter, resp any, err error) {
	switch {
	case errors.Is(err, ErrBadPayload):
		b.d.Log.Warn("slack payload refused", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		b.d.Log.Error("slack request not handled; Slack will retry", "err", err)
		b.unhealthy(err)
		http.Error(w, "temporarily unable to handle the request", http.StatusInternalServerError)
		return
	}
	b.healthy()
	if resp == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}
