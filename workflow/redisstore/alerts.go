package redisstore

import (
	"slices"

	"github.com/intakebot/intakebot/intake"
)

// AlertTarget is one listener of agent alerts (config notify.*): a mail
// address on intake.RouteAgentMail or a webhook URL on intake.RouteWebhook.
// Each alert it takes is queued for it, as a message of its own, in the
// same atomic write as the change that raised it, so that each target
// retries and dead-letters on its own.
type AlertTarget struct {
	Route intake.Route
	// Email and Lang: a mail's recipient and the language it is written in.
	Email string
	Lang  intake.Lang
	// URL: a webhook's address (its secret stays with the notifier).
	URL string
	// Alerts are the events it takes.
	Alerts []intake.Alert
	// Groups limits it to incidents of these support groups; empty: all.
	Groups []string
}

// AlertAgents makes every new incident, SLA warning or breach and
// reporter's "no" queue an agent alert for each target that takes it, and
// returns the store.
func (s *Store) AlertAgents(targets []AlertTarget) *Store {
	s.alerts = targets
	for _, t := range targets {
		s.addRoute(t.Route)
	}
	return s
}

// alertTarget is a target as the scripts read it (see common.lua's alert).
type alertTarget struct {
	Queue   int      `json:"queue"` // KEYS index of the route's queue
	Channel string   `json:"channel"`
	Email   string   `json:"email,omitempty"`
	Lang    string   `json:"lang,omitempty"`
	Target  string   `json:"target,omitempty"`
	Groups  []string `json:"groups,omitempty"`
}

// alertArgs is the alert a change raises and the targets that take it.
type alertArgs struct {
	Kind    string        `json:"kind"`
	Alert   string        `json:"alert"`
	Targets []alertTarget `json:"targets"`
}

// alertArgs adds the queues of the targets that take alert to keys and
// describes them, or gives nil when none does.
func (s *Store) alertArgs(keys *keyList, shard string, alert intake.Alert) *alertArgs {
	if alert == "" {
		return nil
	}
	var a *alertArgs
	queues := map[intake.Route]int{}
	for _, t := range s.alerts {
		if !slices.Contains(t.Alerts, alert) {
			continue
		}
		if a == nil {
			a = &alertArgs{Kind: string(intake.NoticeAgentAlert), Alert: string(alert)}
		}
		q, ok := queues[t.Route]
		if !ok {
			key, _ := s.outboxKeys(shard, t.Route)
			q = keys.add(key)
			queues[t.Route] = q
		}
		a.Targets = append(a.Targets, alertTarget{Queue: q, Channel: string(t.Route), Email: t.Email, Lang: string(t.Lang),
			Target: t.URL, Groups: t.Groups})
	}
	return a
}
