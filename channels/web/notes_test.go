package web_test

import (
	"testing"
)

// An action sent with "public": true is a note to the reporter: kept with
// its flag and queued to them once; without it the action stays internal
// and nothing is queued. A public note obeys the validation lock, and a
// flag that is not a boolean is a clear 400.
func TestAPIPublicNote(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	id := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "vpn", "reporter": {"email": "eva@example.test"}}`, 201)["id"].(string)
	p := "/api/v1/incidents/" + id
	queued := func() int {
		t.Helper()
		return len(a.expect("alice", "GET", "/api/v1/outbox", "", 200)["messages"].([]any))
	}
	before := queued() // the acknowledgment
	a.expect("alice", "POST", p+"/actions", `{"text": "INTERNAL: checked the gateway"}`, 201)
	if n := queued(); n != before {
		t.Fatalf("an internal action queued %d messages", n-before)
	}
	inc := a.expect("alice", "POST", p+"/actions", `{"text": "Please reconnect now.", "public": true}`, 201)
	actions := inc["actions"].([]any)
	if len(actions) != 2 || actions[0].(map[string]any)["public"] != nil || actions[1].(map[string]any)["public"] != true {
		t.Fatalf("actions %v: want the second one public", actions)
	}
	msgs := a.expect("alice", "GET", "/api/v1/outbox", "", 200)["messages"].([]any)
	if len(msgs) != before+1 {
		t.Fatalf("outbox %v: want the note queued once", msgs)
	}
	found := false
	for _, m := range msgs {
		if m := m.(map[string]any); m["kind"] == "note" && m["action"] == float64(2) && m["email"] == "eva@example.test" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no note for action 2 in %v", msgs)
	}
	out := a.expect("alice", "POST", p+"/actions", `{"text": "x", "public": "yes"}`, 400)
	if out["code"] != "invalid" {
		t.Fatalf("code %v", out["code"])
	}
	a.expect("alice", "POST", p+"/transitions", `{"to": "solution"}`, 200)
	a.expect("alice", "POST", p+"/transitions", `{"to": "validation"}`, 200)
	if out := a.expect("alice", "POST", p+"/actions", `{"text": "hello", "public": true}`, 409); out["code"] != "locked_in_validation" {
		t.Fatalf("code %v", out["code"])
	}
}
