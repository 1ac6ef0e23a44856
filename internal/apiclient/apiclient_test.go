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

// Download keeps the bytes as sent and the name from Content-Disposition;
// a refused move keeps where the incident is and where it may go.
func TestDownloadAndRefusal(t *testing.T) {
	content := []byte("\x89PNG\x00\xff")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			w.Header().Set("Content-Disposition", `attachment; filename*=utf-8''captura%20de%20pantalla%C3%B1.png`)
			w.Write(content)
		default:
			w.WriteHeader(409)
			w.Write([]byte(`{"error":"refused","code":"bad_move","state":"analysis","allowed":["solution","closed"]}`))
		}
	}))
	defer srv.Close()
	c := New(srv.URL, "tok")
	f, err := c.Download(context.Background(), "/file")
	if err != nil || f.Name != "captura de pantallañ.png" || string(f.Content) != string(content) {
		t.Fatalf("download: %+v %v", f, err)
	}
	var e *Error
	if err := c.Do(context.Background(), "POST", "/move", nil, nil); !errors.As(err, &e) || e.Status != 409 || e.State != "analysis" ||
		len(e.Allowed) != 2 || e.Allowed[1] != "closed" || e.Code != "bad_move" {
		t.Fatalf("refusal: %+v", err)
	}
	if _, err := c.Download(context.Background(), "/move"); !errors.As(err, &e) || e.Status != 409 {
		t.Fatalf("download refused: %v", err)
	}
}
