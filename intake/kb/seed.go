package kb

import (
	"embed"
	"io/fs"
)

//go:embed seed/*.md
var seedFiles embed.FS

// Seed returns the articles shipped with local mode and the demo.
func Seed() ([]Article, error) {
	sub, err := fs.Sub(seedFiles, "seed")
	if err != nil {
		return nil, err
	}
	return ReadFS(sub)
}
