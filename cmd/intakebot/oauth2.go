package main

import (
	"errors"
	"fmt"

	"github.com/intakebot/intakebot/channels/email/mailauth"
)

// OAuth2Config is the oauth2: block of a mailbox's imap: section and of
// email.smtp, used when their auth is "oauth2". The SASL user is the
// section's username (the mailbox account).
type OAuth2Config struct {
	// Mechanism is xoauth2 (default; Microsoft 365, Gmail) or oauthbearer.
	Mechanism string `yaml:"mechanism"`
	TokenURL  string `yaml:"token_url"`
	ClientID  string `yaml:"client_id"`
	// The secret and the refresh token may come from files (mounted
	// secrets) instead.
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// RefreshToken set: the refresh token grant (Google); empty: client
	// credentials (Microsoft 365 app-only).
	RefreshToken     string   `yaml:"refresh_token"`
	RefreshTokenFile string   `yaml:"refresh_token_file"`
	Scopes           []string `yaml:"scopes"`
}

// mailAuth is the OAuth 2.0 login for a section whose auth is auth, or nil
// for password logins ("password" or empty). password is the section's
// password, which must be empty with oauth2.
func mailAuth(auth, username, password string, c OAuth2Config) (*mailauth.Auth, error) {
	switch auth {
	case "", "password":
		return nil, nil
	case "oauth2":
	default:
		return nil, fmt.Errorf("auth %q: want password or oauth2", auth)
	}
	if username == "" {
		return nil, errors.New("auth oauth2: username (the mailbox account the token is for) is required")
	}
	if password != "" {
		return nil, errors.New("auth oauth2: a password is set as well; remove it")
	}
	clientSecret, err := secret(c.ClientSecret, c.ClientSecretFile)
	if err != nil {
		return nil, fmt.Errorf("oauth2.client_secret_file: %w", err)
	}
	refreshToken, err := secret(c.RefreshToken, c.RefreshTokenFile)
	if err != nil {
		return nil, fmt.Errorf("oauth2.refresh_token_file: %w", err)
	}
	return mailauth.New(mailauth.Config{Mechanism: c.Mechanism, User: username, TokenURL: c.TokenURL,
		ClientID: c.ClientID, ClientSecret: clientSecret, RefreshToken: refreshToken, Scopes: c.Scopes})
}
