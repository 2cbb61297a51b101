package bindertest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// SkipFilesCase is a binder's settings that name files in a folder that
// does not exist, for CheckSkipFiles.
type SkipFilesCase struct {
	Name     string
	Settings stream.BinderSettings
	// Problem is the problem expected with SkipFiles ("": none).
	Problem string
	// NoFileRead: the settings fail before a file is read, so that
	// without SkipFiles no file problem is expected either.
	NoFileRead bool
}

// CheckSkipFiles checks stream.BinderSettings.SkipFiles (streambind lint's
// second try of settings that failed only because of their files) for each
// case: without it, newBinder reports a problem with a file in missingDir
// (a message "file <path>: ..."); with it, newBinder reads none of the
// files and builds the binder from the rest of the settings, or reports
// only what is not about a file (the case's Problem).
func CheckSkipFiles(t *testing.T, newBinder stream.BinderFactory, missingDir string, cases []SkipFilesCase) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			s := tc.Settings
			if !tc.NoFileRead {
				if _, err := newBinder(ctx, s); err == nil || !strings.Contains(err.Error(), "file "+missingDir) {
					t.Errorf("files read: got %v, want a problem with a file in %s", err, missingDir)
				}
			}
			s.SkipFiles = true
			b, err := newBinder(ctx, s)
			if b != nil {
				defer b.Close(ctx)
			}
			switch {
			case tc.Problem == "" && err != nil:
				t.Errorf("SkipFiles: %v", err)
			case tc.Problem != "" && (err == nil || !strings.Contains(err.Error(), tc.Problem)):
				t.Errorf("SkipFiles: got %v, want %q", err, tc.Problem)
			}
			if err == nil {
				return
			}
			var ces stream.ConfigErrors
			if !errors.As(err, &ces) {
				if strings.Contains(err.Error(), "file "+missingDir) {
					t.Errorf("SkipFiles: a file was read: %v", err)
				}
				return
			}
			for _, e := range ces {
				if strings.HasPrefix(e.Msg, "file ") {
					t.Errorf("SkipFiles: a file was read: %v", e)
				}
			}
		})
	}
}
