package surveylink

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// StepSolved names the "this solved my problem" page: the reporter says an
// article offered in the acknowledgment solved the incident.
const StepSolved = "solved"

// A solved link's token: a version byte, issue and expiry times, a random
// nonce, the length of the incident id, the incident id, the article id,
// then the HMAC-SHA256 of all of that under its own label, so that a
// survey link can never be replayed as a solved link or the other way
// round, though one key signs both.
const (
	solvedVersion     = 's'
	solvedHeaderBytes = 1 + 8 + 8 + nonceBytes + 1
	maxArticleBytes   = 80
	maxSolvedChars    = (solvedHeaderBytes + maxIDBytes + maxArticleBytes + macBytes + 2) / 3 * 4
	solvedLabel       = "intakebot/solvedlink/v1\x00"
)

// SolvedClaims is what a verified solved link says.
type SolvedClaims struct {
	IncidentID, ArticleID string
	Expires               time.Time
	Nonce                 string
}

// SignSolved returns a new token saying "article solved incident"; each
// call gives a different token.
func (s *Signer) SignSolved(incidentID, articleID string) (string, error) {
	if err := checkID(incidentID); err != nil {
		return "", err
	}
	if err := checkID(articleID); err != nil || len(articleID) > maxArticleBytes {
		return "", fmt.Errorf("surveylink: article id %q is empty, too long or not text", articleID)
	}
	now := s.now()
	buf := make([]byte, solvedHeaderBytes, solvedHeaderBytes+len(incidentID)+len(articleID)+macBytes)
	buf[0] = solvedVersion
	binary.BigEndian.PutUint64(buf[1:9], uint64(now.Unix()))
	binary.BigEndian.PutUint64(buf[9:17], uint64(now.Add(s.ttl).Unix()))
	if _, err := rand.Read(buf[17 : 17+nonceBytes]); err != nil {
		return "", fmt.Errorf("surveylink: nonce: %w", err)
	}
	buf[solvedHeaderBytes-1] = byte(len(incidentID))
	buf = append(buf, incidentID...)
	buf = append(buf, articleID...)
	buf = append(buf, s.solvedMAC(buf)...)
	return s.enc.EncodeToString(buf), nil
}

// VerifySolved checks a solved link's token as Verify does a survey
// link's: ErrInvalidToken for anything forged or malformed, ErrExpired
// with the claims for an authentic one that came too late.
func (s *Signer) VerifySolved(token string) (SolvedClaims, error) {
	if len(token) > maxSolvedChars || !urlSafe(token) {
		return SolvedClaims{}, ErrInvalidToken
	}
	raw, err := s.enc.DecodeString(token)
	if err != nil || len(raw) <= solvedHeaderBytes+macBytes {
		return SolvedClaims{}, ErrInvalidToken
	}
	body, sum := raw[:len(raw)-macBytes], raw[len(raw)-macBytes:]
	if !hmac.Equal(sum, s.solvedMAC(body)) || body[0] != solvedVersion {
		return SolvedClaims{}, ErrInvalidToken
	}
	n := int(body[solvedHeaderBytes-1])
	rest := body[solvedHeaderBytes:]
	if n == 0 || n >= len(rest) {
		return SolvedClaims{}, ErrInvalidToken
	}
	c := SolvedClaims{
		IncidentID: string(rest[:n]), ArticleID: string(rest[n:]),
		Expires: time.Unix(int64(binary.BigEndian.Uint64(body[9:17])), 0).UTC(),
		Nonce:   hex.EncodeToString(body[17 : 17+nonceBytes]),
	}
	if checkID(c.IncidentID) != nil || checkID(c.ArticleID) != nil {
		return SolvedClaims{}, ErrInvalidToken
	}
	if !s.now().Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

func (s *Signer) solvedMAC(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(solvedLabel))
	m.Write(body)
	return m.Sum(nil)
}

// SolvedURL returns the link a reporter follows: BASE/k/TOKEN.
func SolvedURL(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + "/k/" + url.PathEscape(token)
}

// SolvedLink signs a "this solved my problem" link for one article offered
// about the incident.
func (l Linker) SolvedLink(incidentID, articleID string) (string, error) {
	token, err := l.Signer.SignSolved(incidentID, articleID)
	if err != nil {
		return "", err
	}
	return SolvedURL(l.BaseURL, token), nil
}

// Solver records that an offered article solved the reporter's problem;
// the workflow engine is one.
type Solver interface {
	Solved(ctx context.Context, id string, by intake.Actor, articleID string) (intake.Changed, error)
	MinScore() float64
}

// offered is the article the link names, if the incident offered it to
// its reporter.
func offered(inc *intake.Incident, min float64, articleID string) (intake.Suggestion, bool) {
	for _, s := range inc.ReporterSuggestions(min) {
		if s.ID == articleID {
			return s, true
		}
	}
	return intake.Suggestion{}, false
}

// loadSolved verifies a solved token and reads its incident, or answers
// the request itself and returns false.
func (h *handler) loadSolved(w http.ResponseWriter, r *http.Request) (SolvedClaims, *intake.Incident, pageData, bool) {
	c, err := h.d.Signer.VerifySolved(r.PathValue("token"))
	if errors.Is(err, ErrExpired) {
		lang := acceptLang(r)
		if inc, gerr := h.d.Incidents.Get(r.Context(), c.IncidentID); gerr == nil {
			lang = langOf(inc)
		}
		h.page(w, http.StatusGone, lang, "expired", pageData{ID: c.IncidentID, Step: StepSolved})
		return SolvedClaims{}, nil, pageData{}, false
	}
	if err != nil {
		h.d.Log.Warn("refused a solved link", "method", r.Method, "err", err)
		h.page(w, http.StatusBadRequest, acceptLang(r), "invalid", pageData{})
		return SolvedClaims{}, nil, pageData{}, false
	}
	inc, err := h.d.Incidents.Get(r.Context(), c.IncidentID)
	switch {
	case errors.Is(err, intake.ErrNotFound) || errors.Is(err, intake.ErrInvalid):
		h.page(w, http.StatusNotFound, acceptLang(r), "notfound", pageData{ID: c.IncidentID})
		return SolvedClaims{}, nil, pageData{}, false
	case err != nil:
		h.fail(w, r, acceptLang(r), pageData{ID: c.IncidentID}, "read incident", err)
		return SolvedClaims{}, nil, pageData{}, false
	}
	data := pageData{ID: inc.ID, Subject: inc.Subject, ReporterName: inc.Reporter.Name, Step: StepSolved, ArticleID: c.ArticleID}
	a, ok := offered(inc, h.d.Solver.MinScore(), c.ArticleID)
	if !ok {
		// Signed by us for an article we no longer offer (the threshold
		// was raised): nothing to confirm.
		h.page(w, http.StatusNotFound, langOf(inc), "notfound", data)
		return SolvedClaims{}, nil, pageData{}, false
	}
	data.ArticleTitle = a.Title
	return c, inc, data, true
}

// open reports whether a "solved" can still change the incident: only
// while an agent has not yet asked the reporter to validate a solution.
func open(inc *intake.Incident) bool {
	return inc.State == intake.Analysis || inc.State == intake.Solution
}

// showSolved answers GET: a page that asks to confirm. It changes nothing,
// since mail scanners follow links.
func (h *handler) showSolved(w http.ResponseWriter, r *http.Request) {
	_, inc, data, ok := h.loadSolved(w, r)
	if !ok {
		return
	}
	if !open(inc) {
		h.page(w, http.StatusOK, langOf(inc), "answered", data)
		return
	}
	h.page(w, http.StatusOK, langOf(inc), "solved", data)
}

// confirmSolved answers POST: it spends the link and records the answer.
func (h *handler) confirmSolved(w http.ResponseWriter, r *http.Request) {
	c, inc, data, ok := h.loadSolved(w, r)
	if !ok {
		return
	}
	lang := langOf(inc)
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil || len(r.PostForm) != 1 || r.PostForm.Get("solved") != "yes" {
		h.page(w, http.StatusBadRequest, lang, "badanswer", data)
		return
	}
	if !open(inc) {
		h.page(w, http.StatusConflict, lang, "answered", data)
		return
	}
	first, err := h.d.Spender.Spend(r.Context(), "solved:"+c.Nonce, c.Expires)
	if err != nil {
		h.fail(w, r, lang, data, "spend solved link", err)
		return
	}
	if !first {
		h.page(w, http.StatusConflict, lang, "answered", data)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), applyTimeout)
	defer cancel()
	by := intake.Actor{Kind: intake.ActorReporter, Name: reporterName(inc), Via: "web", Ref: "solved:" + c.Nonce}
	_, err = h.d.Solver.Solved(ctx, inc.ID, by, c.ArticleID)
	switch {
	case err == nil:
		h.d.Log.Info("solved by the reporter on the web", "incident", inc.ID, "article", c.ArticleID)
		h.page(w, http.StatusOK, lang, "thanks", data)
	case errors.Is(err, intake.ErrConflict):
		h.page(w, http.StatusConflict, lang, "answered", data)
	default:
		h.d.Log.Error("solved link spent but not recorded; ask the reporter to reply by mail",
			"incident", inc.ID, "article", c.ArticleID, "err", err)
		h.page(w, http.StatusInternalServerError, lang, "error", data)
	}
}
