package surveylink_test

import (
	"os"
	"testing"

	"github.com/intakebot/intakebot/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
