package kb

import (
	"errors"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

func vpnKE() KnownError {
	return KnownError{ID: "KE-000001", Lang: intake.English, Status: KEOpen, CIs: []string{"vpn"},
		Symptom:    "VPN disconnects every few minutes after the client update",
		RootCause:  "Client 5.2 renegotiates keys with an expired certificate.",
		Workaround: "Reinstall client 5.1 from the software center."}
}

func impresoraKE() KnownError {
	return KnownError{ID: "KE-000002", Lang: intake.Spanish, Status: KEOpen, CIs: []string{"printer"},
		Symptom:    "La impresora de la tercera planta imprime páginas en blanco",
		RootCause:  "El tóner del lote 42 viene defectuoso.",
		Workaround: "Cambiar el cartucho por uno de otro lote."}
}

// An agent's search (and the suggestions made from it) finds a known error
// by the words of its symptom, in other word forms, in English and Spanish,
// among articles; it is marked internal so no reporter is ever shown it.
func TestIndexFindsKnownErrorBySymptomENAndES(t *testing.T) {
	seed, err := Seed()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(seed...)
	ix.PutKnownError(vpnKE())
	ix.PutKnownError(impresoraKE())
	for _, c := range []struct {
		lang       intake.Lang
		text, want string
	}{
		{intake.English, "my vpn keeps disconnecting since the update", "KE-000001"},
		{intake.Spanish, "la impresora imprime hojas en blanco", "KE-000002"},
	} {
		res := ix.Search(Query{Text: c.text, Lang: c.lang, CI: "", Limit: 3})
		if len(res) == 0 || res[0].ID != c.want {
			t.Fatalf("%s %q: got %+v, want %s first", c.lang, c.text, res, c.want)
		}
		if res[0].Audience != Internal || !IsKnownError(res[0].ID) || res[0].Lang != c.lang {
			t.Errorf("%s: result %+v, want an internal known error in %s", c.lang, res[0], c.lang)
		}
		for _, r := range ix.Search(Query{Text: c.text, Lang: c.lang, PublicOnly: true}) {
			if IsKnownError(r.ID) {
				t.Errorf("%s: a reporter's search returned known error %s", c.lang, r.ID)
			}
		}
	}
}

// A fixed known error leaves the index: it answers no new incident.
func TestFixedKnownErrorIsNotSuggested(t *testing.T) {
	ix := NewIndex()
	k := vpnKE()
	ix.PutKnownError(k)
	if got := ids(ix.Search(Query{Text: "vpn disconnects"})); len(got) != 1 {
		t.Fatalf("open: got %v", got)
	}
	k.Status = KEFixed
	ix.PutKnownError(k)
	if got := ix.Search(Query{Text: "vpn disconnects"}); len(got) != 0 || ix.Len() != 0 {
		t.Errorf("fixed: got %v (index holds %d), want nothing", got, ix.Len())
	}
	k.Status = KEOpen // reopened: suggested again
	ix.PutKnownError(k)
	if got := ids(ix.Search(Query{Text: "vpn disconnects"})); len(got) != 1 {
		t.Errorf("reopened: got %v", got)
	}
}

func TestKnownErrorValidateAndIDs(t *testing.T) {
	if err := vpnKE().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*KnownError){
		"no symptom":    func(k *KnownError) { k.Symptom = "  " },
		"no workaround": func(k *KnownError) { k.Workaround = "" },
		"bad lang":      func(k *KnownError) { k.Lang = "fr" },
		"bad status":    func(k *KnownError) { k.Status = "closed" },
	} {
		k := vpnKE()
		edit(&k)
		if err := k.Validate(); !errors.Is(err, ErrInvalidKnownError) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if FormatKEID(7) != "KE-000007" || ParseKEID("KE-000007") != nil {
		t.Error("KE-000007 does not round-trip")
	}
	for _, bad := range []string{"", "KE-7", "KE-000000", "INC-000001", "ke-000001", "KE-00000x"} {
		if err := ParseKEID(bad); !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("ParseKEID(%q) = %v, want invalid", bad, err)
		}
	}
}

// The known errors shipped with local mode are valid and found by a report
// in their own language.
func TestSeedKnownErrorsAreValidAndFound(t *testing.T) {
	seed, err := Seed()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(seed...)
	for i, k := range SeedKnownErrors() {
		k.ID = FormatKEID(int64(i + 1))
		if err := k.Validate(); err != nil {
			t.Fatalf("seed known error %d: %v", i, err)
		}
		ix.PutKnownError(k)
	}
	for _, c := range []struct {
		lang       intake.Lang
		text, want string
	}{
		{intake.English, "the VPN disconnects every few minutes since the update", "KE-000001"},
		{intake.Spanish, "Outlook se queda cargando el perfil y no abre", "KE-000002"},
	} {
		res := ix.Search(Query{Text: c.text, Lang: c.lang, Limit: 3})
		if len(res) == 0 || res[0].ID != c.want {
			t.Errorf("%s %q: got %+v, want %s first", c.lang, c.text, res, c.want)
		}
	}
}
