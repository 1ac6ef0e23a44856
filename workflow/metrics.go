package workflow

import (
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the engine does, for Prometheus.
type Metrics struct {
	registeredTotal  *prometheus.CounterVec
	transitionsTotal *prometheus.CounterVec
	refusedTotal     *prometheus.CounterVec
	deliveredTotal   *prometheus.CounterVec
	failedTotal      *prometheus.CounterVec
	droppedTotal     *prometheus.CounterVec
	slaTotal         *prometheus.CounterVec
	answersTotal     *prometheus.CounterVec
	answerSeconds    *prometheus.HistogramVec
}

// NewMetrics creates the engine's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		registeredTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intakebot_incidents_registered_total", Help: "Incidents registered, by channel.",
		}, []string{"channel"}),
		transitionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intakebot_events_applied_total", Help: "Workflow events applied, by event.",
		}, []string{"event"}),
		refusedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intakebot_events_refused_total", Help: "Workflow events refused by the service model, by event and reason.",
		}, []string{"event", "code"}),
		deliveredTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intakebot_outbox_delivered_total", Help: "Messages to reporters delivered, by channel and kind.",
		}, []string{"channel", "kind"}),
		failedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intakebot_outbox_failures_total", Help: "Failed delivery attempts, by channel.",
		}, []string{"channel"}),
		droppedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intakebot_outbox_dropped_total", Help: "Questions and reminders not delivered because their round was answered or replaced first, by channel and kind.",
		}, []string{"channel", "kind"}),
		slaTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intakebot_sla_flags_total", Help: "SLA warnings and breaches raised, by flag and priority.",
		}, []string{"flag", "priority"}),
		answersTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intakebot_survey_answers_total", Help: "Survey answers recorded, by step, answer and channel (timer: by silence).",
		}, []string{"step", "answer", "via"}),
		answerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "intakebot_survey_answer_seconds", Help: "Time from asking a survey question to its answer, by step.",
			Buckets: []float64{60, 600, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400},
		}, []string{"step"}),
	}
	reg.MustRegister(m.registeredTotal, m.transitionsTotal, m.refusedTotal, m.deliveredTotal, m.failedTotal, m.droppedTotal, m.slaTotal,
		m.answersTotal, m.answerSeconds)
	return m
}

func (m *Metrics) registered(c intake.Channel) { m.registeredTotal.WithLabelValues(string(c)).Inc() }
func (m *Metrics) applied(k intake.EventKind)  { m.transitionsTotal.WithLabelValues(string(k)).Inc() }
func (m *Metrics) refused(k intake.EventKind, code intake.RefusalCode) {
	m.refusedTotal.WithLabelValues(string(k), string(code)).Inc()
}
func (m *Metrics) delivered(r intake.Route, kind intake.NoticeKind) {
	m.deliveredTotal.WithLabelValues(string(r), string(kind)).Inc()
}
func (m *Metrics) failed(r intake.Route) { m.failedTotal.WithLabelValues(string(r)).Inc() }
func (m *Metrics) dropped(r intake.Route, kind intake.NoticeKind) {
	m.droppedTotal.WithLabelValues(string(r), string(kind)).Inc()
}
func (m *Metrics) sla(flag string, p intake.Priority) {
	m.slaTotal.WithLabelValues(flag, string(p)).Inc()
}
func (m *Metrics) answeredAfter(step string, d time.Duration) {
	m.answerSeconds.WithLabelValues(step).Observe(d.Seconds())
}
func (m *Metrics) answered(s *intake.SurveyResult) {
	answer := s.Answer
	if s.Step == intake.SurveySatisfaction {
		answer = string(rune('0' + s.Rating))
	}
	m.answersTotal.WithLabelValues(s.Step, answer, s.Via).Inc()
}
