package config

import (
	"io/fs"
	"os"

	"github.com/intakebot/intakebot/templates"
)

// FS is where the templates are read from: the embedded ones,
// with templates.dir laid over them when it is set.
func (t Templates) FS() fs.FS {
	if t.Dir == "" {
		return templates.Files()
	}
	return templates.Overlay(os.DirFS(t.Dir))
}

// LoadTemplates parses every template set (mails, chat phrases, web
// pages) from t.FS(), so that a broken override stops the start (and
// "config check") with the file named, not the first delivery that needs it.
func LoadTemplates(t Templates) error {
	fsys := t.FS()
	if _, err := templates.LoadFS(fsys); err != nil {
		return err
	}
	if _, err := templates.LoadPhrasesFS(fsys); err != nil {
		return err
	}
	_, err := templates.LoadPagesFS(fsys)
	return err
}
