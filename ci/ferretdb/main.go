// ferretdb serves the MongoDB wire protocol from FerretDB v1.24.2 on its SQLite backend, for
// sloverify's embedded runtime.
//
// Why a main of our own: a plain `go install .../cmd/ferretdb@v1.24.2` builds a binary that
// panics at start (its generated version file is missing outside FerretDB's own build), while
// the library entry point github.com/FerretDB/FerretDB/ferretdb works as is.
//
// Usage:
//
//	ferretdb --listen-addr 127.0.0.1:27017 --sqlite-dir /path/to/run/ferretdb
//
// The SQLite directory is created if missing. Once the TCP port is bound, the MongoDB URI is
// printed on stdout as a single line (e.g. "mongodb://127.0.0.1:27017/"): that line is the
// readiness signal, and with --listen-addr 127.0.0.1:0 it tells which port the OS chose.
// Logs go to stderr. SIGINT or SIGTERM closes the listener, waits for open connections and
// the SQLite backend, then exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (port 0: any free port)")
	sqliteDir := flag.String("sqlite-dir", "", "directory of the SQLite databases (required; created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail(fmt.Errorf("--log-level: %w", err))
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if *sqliteDir == "" {
		fail(fmt.Errorf("--sqlite-dir is required"))
	}
	dir, err := filepath.Abs(*sqliteDir)
	if err != nil {
		fail(err)
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	// FerretDB wants a file: URL of an existing directory, ending with "/".
	sqliteURL := (&url.URL{Scheme: "file", Path: dir + "/"}).String()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		fail(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The port is bound by ferretdb.New; connections made now wait in the backlog until Run
	// accepts them, so announcing readiness here is safe.
	fmt.Println(f.MongoDBURI())

	if err = f.Run(ctx); err != nil {
		fail(err)
	}
	logger.Info("stopped")
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
	os.Exit(1)
}
