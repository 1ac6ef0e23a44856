// Package web serves the agent HTTP API (JSON under /api/v1, bearer
// tokens), health and Prometheus metrics.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/prometheus/client_golang/prometheus"
)

// Incidents is the workflow engine as the API drives it.
type Incidents interface {
	Register(ctx context.Context, rep intake.Report) (*intake.Incident, error)
	Get(ctx context.Context, id string) (*intake.Incident, error)
	AddAction(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
	AddPublicNote(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
	Move(ctx context.Context, id string, by intake.Actor, to intake.State, note string) (intake.Changed, error)
	Assign(ctx context.Context, id string, by intake.Actor, owner, note string) (intake.Changed, error)
	Escalate(ctx context.Context, id string, by intake.Actor, group string, level int, note string) (intake.Changed, error)
	Recategorize(ctx context.Context, id string, by intake.Actor, category, note string) (intake.Changed, error)
	AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error)
	Rate(ctx context.Context, id string, by intake.Actor, rating int, comment string) (intake.Changed, error)
}

// Grouper groups incidents of one outage by hand (workflow.Engine does).
type Grouper interface {
	Group(ctx context.Context, parent string, children []string, by intake.Actor, note string) error
	Ungroup(ctx context.Context, child string, by intake.Actor, note string) error
}

// Lister serves incident lists from the store's indexes.
type Lister interface {
	List(ctx context.Context, f intake.ListFilter) (intake.Page, error)
}

// OutboxReader lists the messages waiting to go out.
type OutboxReader interface {
	Outbox(ctx context.Context, limit int) ([]intake.Notice, error)
}

// Files reads an incident's attachments.
type Files interface {
	Attachment(ctx context.Context, incidentID string, index int) (intake.Attachment, error)
}

// InboundReader lists the recorded outcomes of inbound messages, and
// releases a quarantined one for reprocessing.
type InboundReader interface {
	Inbound(ctx context.Context, ch intake.Channel, limit int, before string) ([]intake.InboundRecord, string, error)
	Release(ctx context.Context, key string) error
}

// Agents authenticates API tokens and knows the agents.
type Agents interface {
	Authenticate(ctx context.Context, token string) (intake.Agent, error)
	Agent(ctx context.Context, name string) (intake.Agent, error)
}

// Pinger tells whether the store answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Component is a part of the bot whose health /readyz reports, such as a
// watched mailbox.
type Component interface {
	Name() string
	Status() (lastSuccess time.Time, lastErr error)
}

// Deps is what the API needs.
type Deps struct {
	Incidents Incidents
	// Groups serves grouping by hand (/children, /ungroup); nil leaves
	// those endpoints out.
	Groups  Grouper
	Lister  Lister
	Outbox  OutboxReader
	Inbound InboundReader
	Files   Files
	Agents  Agents
	// AgentAdmin serves the admin-only /api/v1/agents endpoints; nil
	// leaves them out.
	AgentAdmin AgentAdmin
	Health     Pinger
	KB         KBDeps
	// KnownErrors serves /api/v1/known-errors; with no Store it is not served.
	KnownErrors KnownErrorDeps
	// Components are reported in /readyz detail; one failing makes the
	// bot "degraded", which is still ready unless StrictReadiness is set.
	Components []Component
	// StrictReadiness makes a degraded bot unready (503) too
	// (http.readyz_strict), for deployments that would rather take it out
	// of rotation than run with a mailbox or the mail server failing.
	StrictReadiness bool
	Metrics         http.Handler
	Log             *slog.Logger
	// Registerer receives the HTTP metrics.
	Registerer prometheus.Registerer
}

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// RetryAfter is what a 503 asks clients to wait before trying again while
// Redis cannot answer: about the time a restarted Redis needs to load a
// small data set, or a failover to complete.
const RetryAfter = 10 * time.Second

// MaxClockSkew is how far in the future a client's reported_at may lie:
// the client's clock may run a little ahead of ours, but a report from
// later than that would skew response times and SLAs, so it is refused.
const MaxClockSkew = 5 * time.Minute

// Server is the HTTP API.
type Server struct {
	d        Deps
	mux      *http.ServeMux
	paths    map[string]bool // paths that already answer other methods with 405
	requests *prometheus.CounterVec
}

// NewServer builds the API's routes.
func NewServer(d Deps) *Server {
	s := &Server{d: d, mux: http.NewServeMux(), paths: map[string]bool{}, requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intakebot_http_requests_total", Help: "HTTP requests, by route and status code.",
	}, []string{"route", "code"})}
	d.Registerer.MustRegister(s.requests)

	s.route("GET /healthz", s.healthz)
	s.route("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", d.Metrics)
	s.route("POST /api/v1/incidents", s.agent(s.createIncident))
	s.route("GET /api/v1/incidents", s.agent(s.listIncidents))
	s.route("GET /api/v1/incidents/{id}", s.agent(s.getIncident))
	s.route("POST /api/v1/incidents/{id}/actions", s.agent(s.addAction))
	s.route("POST /api/v1/incidents/{id}/transitions", s.agent(s.transition))
	s.route("POST /api/v1/incidents/{id}/assign", s.agent(s.assign))
	s.route("POST /api/v1/incidents/{id}/escalate", s.agent(s.escalate))
	s.route("POST /api/v1/incidents/{id}/recategorize", s.agent(s.recategorize))
	s.route("POST /api/v1/incidents/{id}/survey", s.agent(s.survey))
	s.route("GET /api/v1/incidents/{id}/attachments/{n}", s.agent(s.attachment))
	if d.Groups != nil {
		s.route("POST /api/v1/incidents/{id}/children", s.agent(s.group))
		s.route("POST /api/v1/incidents/{id}/ungroup", s.agent(s.ungroup))
	}
	s.route("GET /api/v1/outbox", s.agent(s.outbox))
	s.route("GET /api/v1/inbound", s.agent(s.inbound))
	s.route("POST /api/v1/inbound/release", s.agent(s.release))
	s.agentRoutes()
	s.kbRoutes()
	s.knownErrorRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path)
	})
	return s
}

// ServeHTTP counts the request by route and serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	route := r.Pattern
	if route == "" || route == "/" {
		route = "other"
	}
	s.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) { r.code = code; r.ResponseWriter.WriteHeader(code) }

// route registers a handler and, for its path, a JSON 405 for other methods.
func (s *Server) route(pattern string, h http.HandlerFunc) {
	_, path, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(pattern, h)
	if s.paths[path] {
		return
	}
	s.paths[path] = true
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+path)
	})
}

type agentHandler func(w http.ResponseWriter, r *http.Request, by intake.Actor)

// agent authenticates the bearer token before the handler runs.
func (s *Server) agent(h agentHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="intakebot"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a bearer token is required")
			return
		}
		a, err := s.d.Agents.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			if errors.Is(err, intake.ErrForbidden) || errors.Is(err, intake.ErrNotFound) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="intakebot", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, "unauthorized", "the token is not valid")
				return
			}
			s.fail(w, r, err)
			return
		}
		by := intake.Actor{Kind: intake.ActorAgent, Name: a.Name, Admin: a.Admin, Via: "api"}
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			if len(key) > 200 {
				writeError(w, http.StatusBadRequest, "invalid", "Idempotency-Key longer than 200 bytes")
				return
			}
			// A client retrying after a lost answer sends the same key: the
			// change is then applied once.
			by.Ref = "api:" + a.Name + ":" + key
		}
		h(w, r, by)
	}
}

// healthz is liveness: the process serves HTTP. It does not look at
// Redis, so that an outage there never gets healthy bots restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is readiness. Redis not answering makes the bot unready (503):
// it can do nothing without its store. A component (a mailbox, the SMTP
// server, Slack) whose last attempt failed makes it "degraded", still 200
// by default so that one broken mailbox does not take a bot out of
// rotation, with each component's last success and error as detail.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.d.Health.Ping(ctx); err != nil {
		// The detail (addresses, say) goes to the log, not to anyone who asks.
		s.d.Log.Error("health check: redis does not answer", "err", err)
		w.Header().Set("Retry-After", retryAfter())
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "code": "redis_unavailable", "error": "redis does not answer"})
		return
	}
	status, parts, failing := "ok", map[string]any{}, []string{}
	for _, c := range s.d.Components {
		at, err := c.Status()
		// "pending": not tried yet (just started); not a failure.
		part := map[string]any{"ok": err == nil && !at.IsZero(), "status": "pending"}
		if !at.IsZero() {
			part["last_success"] = at
			part["status"] = "ok"
		}
		if err != nil {
			part["error"] = err.Error()
			part["status"] = "failing"
			status = "degraded"
			failing = append(failing, c.Name())
		}
		parts[c.Name()] = part
	}
	out := map[string]any{"status": status, "redis": "ok", "components": parts}
	if status == "degraded" && s.d.StrictReadiness {
		slices.Sort(failing)
		out["code"], out["error"] = "degraded", "failing: "+strings.Join(failing, ", ")
		writeJSON(w, http.StatusServiceUnavailable, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func retryAfter() string { return strconv.Itoa(int(RetryAfter / time.Second)) }

type reporterBody struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	SlackID  string `json:"slack_id"`
	Language string `json:"language"`
}

type createBody struct {
	Channel     string       `json:"channel"`
	Subject     string       `json:"subject"`
	Description string       `json:"description"`
	Reporter    reporterBody `json:"reporter"`
	CI          string       `json:"ci"`
	Category    string       `json:"category"`
	Impact      string       `json:"impact"`
	Urgency     string       `json:"urgency"`
	Group       string       `json:"group"`
	ReportedAt  *time.Time   `json:"reported_at"`
	RelatedID   string       `json:"related_id"`
}

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b createBody
	if !s.decode(w, r, &b) {
		return
	}
	if b.Channel == "" {
		b.Channel = string(intake.ChannelPhone)
	}
	if b.RelatedID != "" {
		if _, err := intake.ParseID(b.RelatedID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	rep := intake.Report{
		Channel: intake.Channel(b.Channel), Subject: b.Subject, Description: b.Description,
		Reporter: intake.Reporter{Name: b.Reporter.Name, Email: strings.ToLower(b.Reporter.Email), SlackID: b.Reporter.SlackID, Language: intake.Lang(b.Reporter.Language)},
		CI:       b.CI, Category: b.Category, Impact: intake.Level(b.Impact), Urgency: intake.Level(b.Urgency), Group: b.Group,
		RelatedID: b.RelatedID, Agent: by.Name, Key: by.Ref,
	}
	if b.ReportedAt != nil {
		now := time.Now()
		if b.ReportedAt.After(now.Add(MaxClockSkew)) {
			writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf(
				"reported_at %s is in the future: it may be at most %s ahead of the server's clock (%s)",
				b.ReportedAt.Format(time.RFC3339), MaxClockSkew, now.UTC().Format(time.RFC3339)))
			return
		}
		rep.ReportedAt = *b.ReportedAt
	}
	inc, err := s.d.Incidents.Register(r.Context(), rep)
	if err == nil {
		w.Header().Set("Location", "/api/v1/incidents/"+inc.ID)
	}
	s.reply(w, r, http.StatusCreated)(inc, err)
}

// maxQueryBytes bounds a search: a few words, not a document.
const maxQueryBytes = 200

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains([]string{"state", "priority", "group", "owner", "limit", "cursor", "sla", "channel", "unassigned", "q"}, k) {
			writeError(w, http.StatusBadRequest, "invalid", "unknown query parameter "+strconv.Quote(k))
			return
		}
	}
	f := intake.ListFilter{State: q.Get("state"), Priority: q.Get("priority"), Group: q.Get("group"), Owner: q.Get("owner"), Limit: 50}
	if f.State != "" && !intake.State(f.State).Valid() {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("unknown state %q", f.State))
		return
	}
	if f.Priority != "" && !intake.Priority(f.Priority).Valid() {
		writeError(w, http.StatusBadRequest, "invalid", "priority must be P1 to P5")
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be 1 to 500")
			return
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "invalid", "bad cursor")
			return
		}
		f.Before = n
	}
	f.SLA = q.Get("sla")
	if f.SLA != "" && f.SLA != intake.SLAWarning && f.SLA != intake.SLABreached {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("sla must be %s or %s, not %q", intake.SLAWarning, intake.SLABreached, f.SLA))
		return
	}
	f.Channel = q.Get("channel")
	if f.Channel != "" && !intake.Channel(f.Channel).Valid() {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("unknown channel %q", f.Channel))
		return
	}
	switch v := q.Get("unassigned"); v {
	case "", "false":
	case "true":
		f.Unassigned = true
	default:
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("unassigned must be true or false, not %q", v))
		return
	}
	f.Query = q.Get("q")
	if len(f.Query) > maxQueryBytes {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("q is longer than %d bytes", maxQueryBytes))
		return
	}
	// Every filter and the search are served by the store's indexes.
	page, err := s.d.Lister.List(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"incidents": page.Incidents}
	if page.Next > 0 {
		out["next_cursor"] = strconv.FormatInt(page.Next, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	s.reply(w, r, http.StatusOK)(s.d.Incidents.Get(r.Context(), r.PathValue("id")))
}

func (s *Server) addAction(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Text string `json:"text"`
		// Public: "tell the reporter"; the action is sent to them too.
		Public bool `json:"public"`
	}
	if s.decode(w, r, &b) {
		add := s.d.Incidents.AddAction
		if b.Public {
			add = s.d.Incidents.AddPublicNote
		}
		s.changed(w, r, http.StatusCreated)(add(r.Context(), r.PathValue("id"), by, b.Text))
	}
}

func (s *Server) transition(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		To   string `json:"to"`
		Note string `json:"note"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	if b.To == "" {
		writeError(w, http.StatusBadRequest, "invalid", `"to" is required`)
		return
	}
	s.changed(w, r, http.StatusOK)(s.d.Incidents.Move(r.Context(), r.PathValue("id"), by, intake.State(b.To), b.Note))
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Owner string `json:"owner"`
		Note  string `json:"note"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	if _, err := s.d.Agents.Agent(r.Context(), b.Owner); err != nil {
		if errors.Is(err, intake.ErrNotFound) {
			writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("no agent named %q", b.Owner))
			return
		}
		s.fail(w, r, err)
		return
	}
	s.changed(w, r, http.StatusOK)(s.d.Incidents.Assign(r.Context(), r.PathValue("id"), by, b.Owner, b.Note))
}

func (s *Server) escalate(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Group string `json:"group"`
		Level int    `json:"level"`
		Note  string `json:"note"`
	}
	if s.decode(w, r, &b) {
		s.changed(w, r, http.StatusOK)(s.d.Incidents.Escalate(r.Context(), r.PathValue("id"), by, b.Group, b.Level, b.Note))
	}
}

func (s *Server) recategorize(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Category string `json:"category"`
		Note     string `json:"note"`
	}
	if s.decode(w, r, &b) {
		s.changed(w, r, http.StatusOK)(s.d.Incidents.Recategorize(r.Context(), r.PathValue("id"), by, b.Category, b.Note))
	}
}

// survey records an answer the reporter gave by phone.
func (s *Server) survey(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Step    string `json:"step"`
		Answer  string `json:"answer"`
		Note    string `json:"note"`
		Rating  int    `json:"rating"`
		Comment string `json:"comment"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	by.Via = "phone"
	id := r.PathValue("id")
	switch {
	case b.Step == intake.SurveyValidation && (b.Answer == "yes" || b.Answer == "no") && b.Rating == 0 && b.Comment == "":
		s.changed(w, r, http.StatusOK)(s.d.Incidents.AnswerValidation(r.Context(), id, by, b.Answer == "yes", b.Note))
	case b.Step == intake.SurveySatisfaction && b.Answer == "" && b.Note == "":
		s.changed(w, r, http.StatusOK)(s.d.Incidents.Rate(r.Context(), id, by, b.Rating, b.Comment))
	default:
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf(
			`send {"step":%q,"answer":"yes"|"no","note":"..."} or {"step":%q,"rating":1-5,"comment":"..."}`,
			intake.SurveyValidation, intake.SurveySatisfaction))
	}
}

// group puts incidents under {id} (one outage): {"children": [...], "note": ""}.
// The answer is the parent as it is then.
func (s *Server) group(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Children []string `json:"children"`
		Note     string   `json:"note"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	if err := s.d.Groups.Group(r.Context(), id, b.Children, by, b.Note); err != nil {
		s.fail(w, r, err)
		return
	}
	s.current(w, r, id)
}

// ungroup takes {id} out of its parent's group: {"note": ""}. The answer
// is the incident as it is then.
func (s *Server) ungroup(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Note string `json:"note"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	if err := s.d.Groups.Ungroup(r.Context(), id, by, b.Note); err != nil {
		s.fail(w, r, err)
		return
	}
	s.current(w, r, id)
}

func (s *Server) current(w http.ResponseWriter, r *http.Request, id string) {
	s.reply(w, r, http.StatusOK)(s.d.Incidents.Get(r.Context(), id))
}

func (s *Server) outbox(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be 1 to 1000")
			return
		}
		limit = n
	}
	msgs, err := s.d.Outbox.Outbox(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for i := range msgs {
		msgs[i] = msgs[i].Redacted()
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

// attachment serves one attachment's kept content. It is always a
// download: a file a stranger mailed in must not render in an agent's
// browser as a page of ours.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, "invalid", "attachment index must be a number from 0")
		return
	}
	if _, err := intake.ParseID(r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.d.Files.Attachment(r.Context(), r.PathValue("id"), n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	w.Header().Set("X-Intakebot-Content-Type", a.Type)
	if a.Truncated {
		w.Header().Set("X-Intakebot-Truncated", strconv.FormatInt(a.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.Content)
}

// inbound lists what became of each message that reached a channel.
func (s *Server) inbound(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	q := r.URL.Query()
	ch := intake.Channel(q.Get("channel"))
	if ch == "" {
		ch = intake.ChannelEmail
	}
	if !ch.Valid() {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("unknown channel %q", ch))
		return
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be 1 to 500")
			return
		}
		limit = n
	}
	list, next, err := s.d.Inbound.Inbound(r.Context(), ch, limit, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"messages": list}
	if next != "" {
		out["next_cursor"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

// release forgets a quarantined message's claim: put back in the mailbox,
// it is processed anew (after the parser or the configuration was fixed).
func (s *Server) release(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	var b struct {
		Key string `json:"key"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	if b.Key == "" {
		writeError(w, http.StatusBadRequest, "invalid", `"key" (from the ledger entry) is required`)
		return
	}
	if err := s.d.Inbound.Release(r.Context(), b.Key); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"released": b.Key})
}

// decode reads a JSON body strictly: bounded size, no unknown fields, one
// value. It answers 400 itself and returns false on any problem.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusBadRequest, "too_large", fmt.Sprintf("body larger than %d bytes", MaxBodyBytes))
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid", "bad JSON body: "+err.Error())
		return false
	}
	return true
}

// reply answers with an incident.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, code int) func(*intake.Incident, error) {
	return func(inc *intake.Incident, err error) {
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, code, inc)
	}
}

// changed answers a change with the whole incident. A change returns only
// what it changed (one round trip), so the incident is read afterwards.
// When only that read fails the change stands: the answer is then the short
// incident, not an error that would invite a retry.
func (s *Server) changed(w http.ResponseWriter, r *http.Request, code int) func(intake.Changed, error) {
	return func(c intake.Changed, err error) {
		if err != nil {
			s.fail(w, r, err)
			return
		}
		inc, err := s.d.Incidents.Get(r.Context(), c.ID)
		if err != nil {
			s.d.Log.Warn("read after change failed; answering with the short incident", "incident", c.ID, "err", err)
			inc = &intake.Incident{ID: c.ID, State: c.State, Owner: c.Owner, Version: c.Version}
		}
		writeJSON(w, code, inc)
	}
}

// fail answers an error with the status its kind asks for.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var refused *intake.Refusal
	if errors.As(err, &refused) {
		// The service model said no: say where the incident is and where
		// it may go from there.
		allowed := refused.Allowed
		if allowed == nil {
			allowed = []intake.State{}
		}
		status := http.StatusConflict
		if errors.Is(err, intake.ErrForbidden) {
			status = http.StatusForbidden
		}
		writeJSON(w, status, map[string]any{"error": err.Error(), "code": refused.Code, "state": refused.State, "allowed": allowed})
		return
	}
	var archived *intake.ArchivedError
	switch {
	case errors.Is(err, intake.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.As(err, &archived):
		// Retention moved it out of Redis: say where it is kept.
		writeJSON(w, http.StatusGone, map[string]string{"error": err.Error(), "code": "archived",
			"id": archived.Tombstone.ID, "archive": archived.Tombstone.Archive})
	case errors.Is(err, intake.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, intake.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, intake.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, intake.ErrUnavailable):
		// Nothing is wrong with the request: Redis is down, restarting or
		// failing over, and the same request may work in a moment. A token
		// that could not be checked gets this too (not 401): we cannot
		// tell whether it is valid.
		s.d.Log.Warn("request failed: redis unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter())
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the incident store (Redis) is unavailable; try again shortly")
	default:
		s.d.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error; see the server log")
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
