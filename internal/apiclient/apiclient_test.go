package apiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"bad token","code":"unauthorized"}`))
		case r.URL.Path == "/echo":
			w.Write(body)
		default:
			w.WriteHeader(502)
			w.Write([]byte("upstream gone\n"))
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	var out map[string]string
	if err := New(srv.URL+"/", "tok").Do(ctx, "POST", "/echo", map[string]string{"a": "b"}, &out); err != nil || out["a"] != "b" {
		t.Fatalf("echo: %v %v", out, err)
	}
	var e *Error
	if err := New(srv.URL, "bad").Do(ctx, "GET", "/echo", nil, &out); !errors.As(err, &e) || e.Status != 401 || e.Code != "unauthorized" || e.Msg != "bad token" {
		t.Fatalf("bad token: %v", err)
	}
	// An answer that is not the API's JSON error keeps its text.
	if err := New(srv.URL, "tok").Do(ctx, "GET", "/other", nil, &out); !errors.As(err, &e) || e.Status != 502 || e.Msg != "upstream gone" {
		t.Fatalf("plain error: %v", err)
	}
}
