package kb

import (
	"embed"
	"io/fs"

	"github.com/intakebot/intakebot/intake"
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

// SeedKnownErrors are the known errors shipped with local mode and the
// demo (their ids are given by the store): one in each language, so that a
// first report about the VPN or Outlook shows an agent what a known error
// looks like beside the articles.
func SeedKnownErrors() []KnownError {
	return []KnownError{{
		Lang:       intake.English,
		Symptom:    "VPN disconnects every few minutes after the client update",
		RootCause:  "Client 7.2 renegotiates the tunnel on every Wi-Fi roam; the gateway drops the old session.",
		Workaround: "Reconnect the VPN once after moving between floors, or roll the client back to 7.1 from the software centre.",
		CIs:        []string{"vpn-gateway"}, Status: KEOpen, Author: "service-desk",
	}, {
		Lang:       intake.Spanish,
		Symptom:    "Outlook se queda en «Cargando perfil» al abrirlo",
		RootCause:  "La actualización del buzón deja el perfil local sin la caché sincronizada.",
		Workaround: "Cerrar Outlook, borrar la carpeta de caché del perfil (%LOCALAPPDATA%\\Microsoft\\Outlook) y volver a abrirlo.",
		CIs:        []string{"exchange"}, Status: KEOpen, Author: "service-desk",
	}}
}
