package refgen

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// pkgSource is the parsed non-test Go files of one package directory.
type pkgSource struct {
	dir   string
	fset  *token.FileSet
	files []*ast.File
}

// parseDir parses the non-test .go files of dir, with comments, in name
// order.
func parseDir(dir string) (*pkgSource, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	ps := &pkgSource{dir: dir, fset: token.NewFileSet()}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, filepath.Base(n)); err != nil || !ok {
			continue // excluded by a build constraint
		}
		f, err := parser.ParseFile(ps.fset, n, nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		ps.files = append(ps.files, f)
	}
	if len(ps.files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", dir)
	}
	return ps, nil
}

// packageDoc returns the package doc comment's text (that of the first file
// that has one), or "".
func (ps *pkgSource) packageDoc() string {
	for _, f := range ps.files {
		if f.Doc != nil {
			return f.Doc.Text()
		}
	}
	return ""
}

// fieldDocs returns the doc comments of the fields of the package's struct
// types, by "Type.Field". A field without a comment of its own has none.
func (ps *pkgSource) fieldDocs() map[string]string {
	out := map[string]string{}
	for _, f := range ps.files {
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, fl := range st.Fields.List {
				text := ""
				if fl.Doc != nil {
					text = fl.Doc.Text()
				} else if fl.Comment != nil {
					text = fl.Comment.Text()
				}
				for _, name := range fl.Names {
					out[ts.Name.Name+"."+name.Name] = text
				}
			}
			return false
		})
	}
	return out
}

// stringConst returns the value of the package-level string constant name,
// or "".
func (ps *pkgSource) stringConst(name string) string {
	for _, f := range ps.files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name != name || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, err := strconv.Unquote(lit.Value); err == nil {
							return v
						}
					}
				}
			}
		}
	}
	return ""
}

// docBlock is a code block of a package doc with the paragraph before it.
type docBlock struct {
	intro string   // the text of the paragraph just before the block
	lines []string // the block's lines, indentation kept
}

// codeBlocks returns the code blocks of a doc comment's text.
func codeBlocks(text string) []docBlock {
	var p comment.Parser
	d := p.Parse(text)
	var out []docBlock
	prev := ""
	for _, b := range d.Content {
		switch b := b.(type) {
		case *comment.Paragraph:
			prev = plainText(b.Text)
		case *comment.Code:
			out = append(out, docBlock{intro: prev, lines: strings.Split(strings.TrimRight(b.Text, "\n"), "\n")})
			prev = ""
		default:
			prev = ""
		}
	}
	return out
}

// plainText flattens comment text to one line.
func plainText(ts []comment.Text) string {
	var b strings.Builder
	var walk func([]comment.Text)
	walk = func(ts []comment.Text) {
		for _, t := range ts {
			switch t := t.(type) {
			case comment.Plain:
				b.WriteString(string(t))
			case comment.Italic:
				b.WriteString(string(t))
			case *comment.Link:
				walk(t.Text)
			case *comment.DocLink:
				walk(t.Text)
			}
		}
	}
	walk(ts)
	return strings.Join(strings.Fields(b.String()), " ")
}

// parseFile parses one Go file, without comments.
func parseFile(fset *token.FileSet, path string) (*ast.File, error) {
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return f, nil
}
