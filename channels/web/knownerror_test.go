package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func newKnownErrorAPI(t *testing.T) (*api, *kb.Index) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	ix := kb.NewIndex()
	a := newAPIOn(t, store, func(d *web.Deps) {
		engine := d.Incidents.(*workflow.Engine)
		d.KnownErrors = web.KnownErrorDeps{Store: store, Ops: workflow.NewKnownErrors(engine, store), Index: ix, Now: time.Now}
	})
	a.agent("root", true)
	a.agent("eve", false)
	a.agent("bob", false)
	if _, err := store.SetEditor(context.Background(), "eve", true); err != nil {
		t.Fatal(err)
	}
	return a, ix
}

const vpnKEJSON = `{"lang":"en","symptom":"VPN disconnects every few minutes","root_cause":"Expired certificate",
 "workaround":"Reinstall client 5.1","cis":["vpn"]}`

func TestKnownErrorsCRUDAndPermissions(t *testing.T) {
	a, ix := newKnownErrorAPI(t)
	// A plain agent may read but not write.
	a.expect("bob", "POST", "/api/v1/known-errors", vpnKEJSON, http.StatusForbidden)
	k := a.expect("eve", "POST", "/api/v1/known-errors", vpnKEJSON, http.StatusCreated)
	if k["id"] != "KE-000001" || k["status"] != "open" || k["author"] != "eve" || k["version"] != 1.0 {
		t.Fatalf("created %v", k)
	}
	if got := ix.Search(kb.Query{Text: "vpn disconnects"}); len(got) != 1 || got[0].ID != "KE-000001" {
		t.Errorf("index after create: %+v", got)
	}
	a.expect("bob", "GET", "/api/v1/known-errors/KE-000001", "", http.StatusOK)
	a.expect("bob", "GET", "/api/v1/known-errors/KE-000042", "", http.StatusNotFound)
	a.expect("bob", "GET", "/api/v1/known-errors/nonsense", "", http.StatusBadRequest)
	a.expect("bob", "PUT", "/api/v1/known-errors/KE-000001", vpnKEJSON, http.StatusForbidden)
	a.expect("bob", "DELETE", "/api/v1/known-errors/KE-000001", "", http.StatusForbidden)
	a.expect("eve", "POST", "/api/v1/known-errors", `{"lang":"en","symptom":"x"}`, http.StatusBadRequest)
	a.expect("eve", "POST", "/api/v1/known-errors", `{"lang":"en","symptom":"x","workaround":"y","oops":1}`, http.StatusBadRequest)
	fixed := `{"version":1,"lang":"en","symptom":"VPN disconnects every few minutes","workaround":"Reinstall client 5.1","status":"fixed"}`
	k = a.expect("root", "PUT", "/api/v1/known-errors/KE-000001", fixed, http.StatusOK)
	if k["status"] != "fixed" || k["version"] != 2.0 || k["author"] != "eve" {
		t.Errorf("updated %v", k)
	}
	a.expect("root", "PUT", "/api/v1/known-errors/KE-000001", fixed, http.StatusConflict)
	if got := ix.Search(kb.Query{Text: "vpn disconnects"}); len(got) != 0 {
		t.Errorf("a fixed known error is still suggested: %+v", got)
	}
	a.expect("bob", "GET", "/api/v1/known-errors?status=closed", "", http.StatusBadRequest)
	list := a.expect("bob", "GET", "/api/v1/known-errors?status=fixed", "", http.StatusOK)["known_errors"].([]any)
	if len(list) != 1 {
		t.Errorf("fixed list %v", list)
	}
	// A client retrying with the same Idempotency-Key makes one known error.
	var ids []string
	for range 2 {
		req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/known-errors", strings.NewReader(vpnKEJSON))
		req.Header.Set("Authorization", "Bearer "+a.tokens["eve"])
		req.Header.Set("Idempotency-Key", "k1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var k map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&k)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("keyed create: %d %v", resp.StatusCode, k)
		}
		ids = append(ids, fmt.Sprint(k["id"]))
	}
	if ids[0] != "KE-000002" || ids[1] != ids[0] {
		t.Errorf("keyed creations made %v", ids)
	}
	a.expect("eve", "DELETE", "/api/v1/known-errors/KE-000001", "", http.StatusOK)
	a.expect("eve", "DELETE", "/api/v1/known-errors/KE-000001", "", http.StatusNotFound)
	a.expect("bob", "GET", "/api/v1/known-errors", "", http.StatusOK)
	a.expect("", "GET", "/api/v1/known-errors", "", http.StatusUnauthorized)
}

// An incident linked, its workaround applied in one call, a known error
// made from another incident; the list counts the incidents each touched.
func TestKnownErrorLinkApplyAndFromIncident(t *testing.T) {
	a, _ := newKnownErrorAPI(t)
	a.expect("eve", "POST", "/api/v1/known-errors", vpnKEJSON, http.StatusCreated)
	inc := a.expect("bob", "POST", "/api/v1/incidents", `{"subject":"my VPN drops all the time","reporter":{"name":"Ana","email":"ana@example.test"}}`, 201)
	p := "/api/v1/incidents/" + inc["id"].(string)
	a.expect("bob", "POST", p+"/workaround", `{}`, http.StatusBadRequest) // nothing linked, none named
	got := a.expect("bob", "PUT", p+"/known-error", `{"known_error":"KE-000001","note":"same"}`, http.StatusOK)
	if got["known_error"] != "KE-000001" {
		t.Fatalf("linked %v", got["known_error"])
	}
	a.expect("bob", "PUT", p+"/known-error", `{"known_error":"KE-000009"}`, http.StatusNotFound)
	a.expect("bob", "PUT", p+"/known-error", `{}`, http.StatusBadRequest)
	got = a.expect("bob", "POST", p+"/workaround", `{}`, http.StatusCreated)
	acts := got["actions"].([]any)
	if len(acts) != 1 || acts[0].(map[string]any)["text"] != "Workaround of KE-000001 applied: Reinstall client 5.1" {
		t.Errorf("actions %v", acts)
	}
	es := a.expect("bob", "POST", "/api/v1/incidents", `{"subject":"No me funciona el correo desde esta mañana","reporter":{"name":"Ana","email":"ana@example.test"}}`, 201)
	body := fmt.Sprintf(`{"from_incident":%q,"root_cause":"Buzón lleno","workaround":"Vaciar la papelera"}`, es["id"])
	a.expect("bob", "POST", "/api/v1/known-errors", body, http.StatusForbidden)
	k := a.expect("eve", "POST", "/api/v1/known-errors", body, http.StatusCreated)
	if k["id"] != "KE-000002" || k["lang"] != "es" || k["from"] != es["id"] {
		t.Errorf("from incident %v", k)
	}
	list := a.expect("bob", "GET", "/api/v1/known-errors", "", http.StatusOK)["known_errors"].([]any)
	for i, want := range []float64{1, 1} {
		if n := list[i].(map[string]any)["touched"]; n != want {
			t.Errorf("%v touched %v, want %v", list[i].(map[string]any)["id"], n, want)
		}
	}
	got = a.expect("bob", "DELETE", p+"/known-error", "", http.StatusOK)
	if _, ok := got["known_error"]; ok {
		t.Errorf("still linked: %v", got["known_error"])
	}
	k = a.expect("bob", "GET", "/api/v1/known-errors/KE-000001", "", http.StatusOK)
	if _, ok := k["incidents"]; ok {
		t.Errorf("KE-000001 still lists %v", k["incidents"])
	}
}
