package events

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxBodyBytes bounds one request; Alertmanager groups stay far below.
const maxBodyBytes = 1 << 20

// maxEvents bounds the alerts of one request.
const maxEvents = 1000

// Handler serves POST /api/v1/events: one generic event, a JSON list of
// them, or an Alertmanager webhook (recognised by its "alerts" list). The
// request must carry "Authorization: Bearer <token>".
func (r *Receiver) Handler(token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
			return
		}
		given, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" || subtle.ConstantTimeCompare([]byte(given), []byte(token)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid events token is required (Authorization: Bearer ...)"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBodyBytes))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body over %d bytes", maxBodyBytes)})
			return
		}
		evs, err := decode(body)
		if err == nil {
			for i := range evs {
				if err = r.Check(&evs[i]); err != nil {
					err = fmt.Errorf("event %d: %w", i+1, err)
					break
				}
			}
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		results := make([]Result, 0, len(evs))
		for _, ev := range evs {
			res, err := r.Handle(req.Context(), ev)
			if err != nil {
				r.log.Error("system event not handled; the sender should retry", "source", ev.Source, "fingerprint", ev.Fingerprint, "err", err)
				writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "temporarily unable to handle the event; retry", "results": results})
				return
			}
			results = append(results, res)
		}
		writeJSON(w, http.StatusOK, map[string]any{"results": results})
	})
}

// alertmanager is the part of Alertmanager's webhook (version 4) we read.
type alertmanager struct {
	Version string `json:"version"`
	Alerts  []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		Fingerprint string            `json:"fingerprint"`
	} `json:"alerts"`
}

// decode reads one event, a list, or an Alertmanager webhook.
func decode(body []byte) ([]Event, error) {
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return nil, fmt.Errorf("%w: the body is empty", ErrInvalid)
	}
	if strings.HasPrefix(trimmed, "[") {
		var list []Event
		if err := strictJSON(body, &list); err != nil {
			return nil, err
		}
		if len(list) == 0 || len(list) > maxEvents {
			return nil, fmt.Errorf("%w: send 1 to %d events", ErrInvalid, maxEvents)
		}
		return list, nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("%w: the body is not JSON: %v", ErrInvalid, err)
	}
	if _, ok := probe["alerts"]; ok {
		var am alertmanager
		if err := json.Unmarshal(body, &am); err != nil {
			return nil, fmt.Errorf("%w: not an Alertmanager webhook: %v", ErrInvalid, err)
		}
		if len(am.Alerts) == 0 || len(am.Alerts) > maxEvents {
			return nil, fmt.Errorf("%w: an Alertmanager webhook with 1 to %d alerts is expected", ErrInvalid, maxEvents)
		}
		out := make([]Event, 0, len(am.Alerts))
		for _, a := range am.Alerts {
			summary := firstOf(a.Annotations["summary"], strings.TrimSpace(a.Labels["alertname"]+" "+a.Labels["instance"]))
			out = append(out, Event{
				Source: "alertmanager", Fingerprint: firstOf(a.Fingerprint, a.Labels["alertname"]+"/"+a.Labels["instance"]),
				Severity: a.Labels["severity"], Summary: summary, Description: a.Annotations["description"],
				CI: a.Labels["ci"], Status: a.Status, Labels: a.Labels, StartsAt: a.StartsAt,
			})
		}
		return out, nil
	}
	var ev Event
	if err := strictJSON(body, &ev); err != nil {
		return nil, err
	}
	return []Event{ev}, nil
}

func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return fmt.Errorf("%w: the body is not JSON: %v", ErrInvalid, err)
		}
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
