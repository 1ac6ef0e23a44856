package main

import (
	"errors"
	"fmt"

	"github.com/intakebot/intakebot/channels/email/mailauth"
	"github.com/intakebot/intakebot/internal/config"
)

// mailAuth is the OAuth 2.0 login of a mail server section, or nil for
// password logins (auth "password" or empty). password is the section's
// password, which must be empty with oauth2.
func mailAuth(s config.Server, password string) (*mailauth.Auth, error) {
	auth, username, c := s.Auth, s.Username, s.OAuth2
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
