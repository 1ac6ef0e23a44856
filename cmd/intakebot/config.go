package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultConfig []byte

// Config is the whole configuration; default.yaml documents every key.
type Config struct {
	Redis struct {
		URL            string `yaml:"url"`
		Prefix         string `yaml:"prefix"`
		EmbeddedListen string `yaml:"embedded_listen"`
	} `yaml:"redis"`
	HTTP struct {
		Listen          string   `yaml:"listen"`
		ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	} `yaml:"http"`
	Web struct {
		BaseURL string   `yaml:"base_url"`
		LinkKey string   `yaml:"link_key"`
		LinkTTL Duration `yaml:"link_ttl"`
	} `yaml:"web"`
	Log struct {
		Format string `yaml:"format"`
		Level  string `yaml:"level"`
	} `yaml:"log"`
	Language struct {
		Default string `yaml:"default"`
	} `yaml:"language"`
	Outbox struct {
		Poll  string   `yaml:"poll"`
		Lease Duration `yaml:"lease"`
	} `yaml:"outbox"`
	Email                 EmailConfig            `yaml:"email"`
	Local                 LocalConfig            `yaml:"local"`
	Slack                 SlackConfig            `yaml:"slack"`
	Timers                TimersConfig           `yaml:"timers"`
	Events                EventsConfig           `yaml:"events"`
	SLA                   SLAConfig              `yaml:"sla"`
	Groups                []string               `yaml:"groups"`
	DefaultGroup          string                 `yaml:"default_group"`
	DefaultCategory       string                 `yaml:"default_category"`
	DefaultCategoryLabels map[intake.Lang]string `yaml:"default_category_labels"`
	Categories            []intake.Category      `yaml:"categories"`
	CIs                   []intake.ConfigItem    `yaml:"cis"`
	Priority              struct {
		DefaultImpact   string                                            `yaml:"default_impact"`
		DefaultUrgency  string                                            `yaml:"default_urgency"`
		ImpactKeywords  map[intake.Level][]string                         `yaml:"impact_keywords"`
		UrgencyKeywords map[intake.Level][]string                         `yaml:"urgency_keywords"`
		Matrix          map[intake.Level]map[intake.Level]intake.Priority `yaml:"matrix"`
	} `yaml:"priority"`
}

// Duration is a time.Duration written as "10s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// loadConfig reads the embedded defaults, then the file (if any), then the
// INTAKEBOT_* environment.
func loadConfig(path string, env func(string) (string, bool)) (*Config, error) {
	var c Config
	if err := strictYAML(defaultConfig, &c); err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		// A list in the file replaces the default list; maps merge by key.
		if err := strictYAML(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), "INTAKEBOT", env); err != nil {
		return nil, err
	}
	return &c, nil
}

func strictYAML(raw []byte, v any) error {
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// applyEnv walks the config struct: each field's variable is the parent's
// name plus the field's YAML key in capitals. Scalars take the value as is,
// lists and maps parse it as YAML, and NAME_FILE reads the value from a file.
func applyEnv(v reflect.Value, name string, env func(string) (string, bool)) error {
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		key := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if key == "" || key == "-" {
			continue
		}
		varName := name + "_" + strings.ToUpper(key)
		field := v.Field(i)
		val, ok := env(varName)
		if field.Kind() == reflect.Struct {
			// A whole section may come as YAML; its keys' own variables
			// still win.
			if ok {
				if err := yaml.Unmarshal([]byte(val), field.Addr().Interface()); err != nil {
					return fmt.Errorf("%s: %w", varName, err)
				}
			}
			if err := applyEnv(field, varName, env); err != nil {
				return err
			}
			continue
		}
		if file, fok := env(varName + "_FILE"); fok && !ok {
			raw, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("%s_FILE: %w", varName, err)
			}
			val, ok = strings.TrimSpace(string(raw)), true
		}
		if !ok {
			continue
		}
		if field.Kind() == reflect.String {
			field.SetString(val)
			continue
		}
		fresh := reflect.New(field.Type())
		if err := yaml.Unmarshal([]byte(val), fresh.Interface()); err != nil {
			return fmt.Errorf("%s: %w", varName, err)
		}
		field.Set(fresh.Elem())
	}
	return nil
}

// rules turns the configuration into checked registration rules.
func (c *Config) rules() (*intake.Rules, error) {
	var matrix intake.Matrix
	if c.Priority.Matrix != nil {
		matrix = intake.Matrix(c.Priority.Matrix)
	}
	return intake.NewRules(intake.RulesConfig{
		DefaultLanguage:       intake.Lang(c.Language.Default),
		DefaultCategory:       c.DefaultCategory,
		DefaultCategoryLabels: c.DefaultCategoryLabels,
		DefaultGroup:          c.DefaultGroup,
		DefaultImpact:         intake.Level(c.Priority.DefaultImpact),
		DefaultUrgency:        intake.Level(c.Priority.DefaultUrgency),
		Categories:            c.Categories,
		CIs:                   c.CIs,
		ImpactKeywords:        c.Priority.ImpactKeywords,
		UrgencyKeywords:       c.Priority.UrgencyKeywords,
		Matrix:                matrix,
		Groups:                c.Groups,
	})
}
