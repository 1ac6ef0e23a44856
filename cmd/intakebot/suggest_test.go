package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// In local mode (seeded KB) a new incident carries its suggestions: the
// CLI shows them with the score and the matching words, and so does the
// API's JSON.
func TestIncidentsShowAndAPIGiveTheSuggestions(t *testing.T) {
	s := startServe(t, map[string]string{})
	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}
	mustCLI(t, env, "incidents", "create", "--subject", "The printer jams on every page, paper stuck in the tray",
		"--reporter-name", "Bea", "--reporter-email", "bea@example.test")
	out := mustCLI(t, env, "incidents", "show", "INC-000001")
	if !strings.Contains(out, "Suggestions (score: matching words):") || !strings.Contains(out, "printer-jam  ") || !strings.Contains(out, "(en, public)") {
		t.Fatalf("incidents show:\n%s", out)
	}
	req, _ := http.NewRequest("GET", s.url+"/api/v1/incidents/INC-000001", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var inc struct {
		Suggestions []struct {
			Kind, ID string
			Public   bool
			Score    float64
			Terms    []string
		} `json:"suggestions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&inc); err != nil {
		t.Fatal(err)
	}
	if len(inc.Suggestions) == 0 || inc.Suggestions[0].ID != "printer-jam" || inc.Suggestions[0].Kind != "article" ||
		!inc.Suggestions[0].Public || inc.Suggestions[0].Score <= 0 || len(inc.Suggestions[0].Terms) == 0 {
		t.Fatalf("API suggestions %+v", inc.Suggestions)
	}
}

// Local mode ships two example known errors, and a report about the VPN
// is shown the English one among its suggestions (agents only: a known
// error is never offered to the reporter).
func TestLocalModeSeedsKnownErrors(t *testing.T) {
	s := startServe(t, map[string]string{})
	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}
	if out := mustCLI(t, env, "known-errors", "list"); !strings.Contains(out, "KE-000001") || !strings.Contains(out, "KE-000002") {
		t.Fatalf("known-errors list in local mode:\n%s", out)
	}
	mustCLI(t, env, "incidents", "create", "--subject", "VPN disconnects every few minutes since the update",
		"--reporter-name", "Bea", "--reporter-email", "bea@example.test")
	if out := mustCLI(t, env, "incidents", "show", "INC-000001"); !strings.Contains(out, "KE-000001") {
		t.Fatalf("incidents show lacks the seeded known error:\n%s", out)
	}
}
