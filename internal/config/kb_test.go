package config

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake/kb"
)

func TestKBSuggestMinScoreDefaultsToTheEvaluatedThreshold(t *testing.T) {
	c, _, err := Load("", Env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.KB.Suggest.MinScore != kb.DefaultMinScore {
		t.Fatalf("kb.suggest.min_score = %v, want kb.DefaultMinScore %v", c.KB.Suggest.MinScore, kb.DefaultMinScore)
	}
	c, _, err = Load("", Env{"INTAKEBOT_KB_SUGGEST_MIN_SCORE": "9.5"})
	if err != nil || c.KB.Suggest.MinScore != 9.5 {
		t.Fatalf("from the environment: %v, %v", c.KB.Suggest.MinScore, err)
	}
}

func TestKBSuggestMinScoreMustBePositive(t *testing.T) {
	for _, v := range []string{"0", "-1"} {
		c, _, err := Load("", Env{"INTAKEBOT_KB_SUGGEST_MIN_SCORE": v})
		if err != nil {
			t.Fatal(err)
		}
		probs := c.Validate()
		if !strings.Contains(probs.Error(), "kb.suggest.min_score") {
			t.Fatalf("min_score %s: problems %v, want one naming kb.suggest.min_score", v, probs)
		}
	}
}
