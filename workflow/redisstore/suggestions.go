package redisstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/intakebot/intakebot/intake"
)

// An incident's suggestions are one field of its hash, written by the
// create script with the rest (no extra round trip). Every open incident
// carries them, so they are stored compactly: one JSON array per
// suggestion, no key names,
//
//	[["printer-jam","Printer jams","en",1,2.75,"printer jam"],["KE-000001",...]]
//
// id, title, lang, public (1 or 0), score, terms (space-separated: a term
// is one stemmed word). The kind is not stored when the id gives it (a
// known error's id starts "KE-"); a seventh element holds it when it does
// not. Incidents stored before kept the list of objects intake.Suggestion
// marshals to, which decodeSuggestions still reads.

// suggestionsField is the incident's suggestions as its hash field; "" when
// there are none.
func suggestionsField(s []intake.Suggestion) string {
	if len(s) == 0 {
		return ""
	}
	rows := make([][]any, len(s))
	for i, sg := range s {
		public := 0
		if sg.Public {
			public = 1
		}
		row := []any{sg.ID, sg.Title, sg.Lang, public, sg.Score, strings.Join(sg.Terms, " ")}
		if sg.Kind != kindOf(sg.ID) {
			row = append(row, sg.Kind)
		}
		rows[i] = row
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		// Plain strings and numbers from our own index cannot fail to
		// encode; an empty field loses only hints, never the report.
		return ""
	}
	return string(doc)
}

// kindOf is the kind an id gives.
func kindOf(id string) string {
	if strings.HasPrefix(id, "KE-") {
		return intake.SuggestKnownError
	}
	return intake.SuggestArticle
}

// decodeSuggestions reads suggestionsField's form and the former one (a
// list of objects).
func decodeSuggestions(doc string) ([]intake.Suggestion, error) {
	if strings.HasPrefix(doc, "[{") {
		var old []intake.Suggestion
		if err := json.Unmarshal([]byte(doc), &old); err != nil {
			return nil, err
		}
		return old, nil
	}
	var raw [][]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, err
	}
	out := make([]intake.Suggestion, len(raw))
	for i, r := range raw {
		if len(r) != 6 && len(r) != 7 {
			return nil, fmt.Errorf("suggestion %d has %d elements, want 6 or 7", i+1, len(r))
		}
		var (
			id, title, lang, terms string
			public                 int
			score                  float64
		)
		for j, dst := range []any{&id, &title, &lang, &public, &score, &terms} {
			if err := json.Unmarshal(r[j], dst); err != nil {
				return nil, fmt.Errorf("suggestion %d, element %d: %w", i+1, j+1, err)
			}
		}
		if public != 0 && public != 1 {
			return nil, fmt.Errorf("suggestion %d: public is %d, want 0 or 1", i+1, public)
		}
		kind := kindOf(id)
		if len(r) == 7 {
			if err := json.Unmarshal(r[6], &kind); err != nil {
				return nil, fmt.Errorf("suggestion %d, element 7: %w", i+1, err)
			}
		}
		sg := intake.Suggestion{Kind: kind, ID: id, Title: title, Lang: intake.Lang(lang), Public: public == 1, Score: score}
		if terms != "" {
			sg.Terms = strings.Fields(terms)
		}
		out[i] = sg
	}
	return out, nil
}
