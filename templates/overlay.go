package templates

import (
	"errors"
	"io/fs"
	"slices"
)

// Overlay lays the files of upper over the embedded templates: a file in
// upper replaces the embedded file of the same path, and a new language
// folder in upper adds a language. The result is checked like the
// embedded set when it is loaded (LoadFS, LoadPhrasesFS, LoadPagesFS), so
// that an override missing a file or failing to parse stops the start,
// naming the file.
func Overlay(upper fs.FS) fs.FS { return overlay{upper: upper, lower: files} }

type overlay struct{ upper, lower fs.FS }

// Open opens the upper file when there is one, else the lower.
func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.upper.Open(name)
	if err == nil {
		st, serr := f.Stat()
		if serr == nil && !st.IsDir() {
			return f, nil
		}
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if f, err := o.lower.Open(name); err == nil {
		return f, nil
	}
	return o.upper.Open(name)
}

// ReadDir lists both layers, the upper entry winning a name in both.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	up, uerr := fs.ReadDir(o.upper, name)
	low, lerr := fs.ReadDir(o.lower, name)
	if uerr != nil && lerr != nil {
		return nil, uerr
	}
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, e := range up {
		seen[e.Name()] = true
		out = append(out, e)
	}
	for _, e := range low {
		if !seen[e.Name()] {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int {
		switch {
		case a.Name() < b.Name():
			return -1
		case a.Name() > b.Name():
			return 1
		}
		return 0
	})
	return out, nil
}
