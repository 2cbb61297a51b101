package refgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// listedPackage is what `go list -json -export` says of a package.
type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	Imports    []string
	DepOnly    bool
	Error      *struct{ Err string }
}

// goList runs `go list -json -export -deps` with buildFlags on pkgs in dir.
func goList(dir string, buildFlags, pkgs []string) (map[string]*listedPackage, error) {
	args := append([]string{"list", "-json", "-export", "-deps"}, buildFlags...)
	args = append(args, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	res := map[string]*listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: decode: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		res[p.ImportPath] = &p
	}
	return res, nil
}

// fieldReaders finds, by type-checking each binder package (and the
// packages of this module under binder/internal that it imports), which
// fields of package stream's types it reads. It returns, by
// "Type.Field" of package stream, the binder types that read the field.
// A call of a method of package stream counts as reading the fields that
// method reads.
func fieldReaders(root, module string, buildFlags []string, binders []binderPkg) (map[string][]string, error) {
	streamPath := module + "/stream"
	pkgs := []string{streamPath}
	for _, b := range binders {
		pkgs = append(pkgs, b.importPath)
	}
	listed, err := goList(root, buildFlags, pkgs)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		p, ok := listed[path]
		if !ok || p.Export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(p.Export)
	})
	check := func(path string) (*types.Info, []*ast.File, error) {
		p := listed[path]
		ps, err := parseFiles(fset, p.Dir, p.GoFiles)
		if err != nil {
			return nil, nil, err
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(path, fset, ps, info); err != nil {
			return nil, nil, fmt.Errorf("type-check %s: %w", path, err)
		}
		return info, ps, nil
	}

	// The fields each method of package stream reads (one level: enough
	// for accessors such as ProducerConfig.IsPartitioned).
	sinfo, sfiles, err := check(streamPath)
	if err != nil {
		return nil, err
	}
	methodFields := map[string][]string{}
	for _, f := range sfiles {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Body == nil {
				continue
			}
			recv := recvName(fd.Recv.List[0].Type)
			key := recv + "." + fd.Name.Name
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if se, ok := n.(*ast.SelectorExpr); ok {
					if sel := sinfo.Selections[se]; sel != nil && sel.Kind() == types.FieldVal {
						if fk := streamField(sel, streamPath); fk != "" {
							methodFields[key] = append(methodFields[key], fk)
						}
					}
				}
				return true
			})
		}
	}

	readers := map[string][]string{}
	add := func(field, binder string) {
		for _, b := range readers[field] {
			if b == binder {
				return
			}
		}
		readers[field] = append(readers[field], binder)
	}
	checked := map[string]*types.Info{}
	for _, b := range binders {
		paths := []string{b.importPath}
		for _, ip := range listed[b.importPath].Imports {
			if strings.HasPrefix(ip, module+"/binder/internal/") {
				paths = append(paths, ip)
			}
		}
		for _, path := range paths {
			info := checked[path]
			if info == nil {
				if info, _, err = check(path); err != nil {
					return nil, err
				}
				checked[path] = info
			}
			for _, sel := range info.Selections {
				switch sel.Kind() {
				case types.FieldVal:
					if fk := streamField(sel, streamPath); fk != "" {
						add(fk, b.typ)
						if strings.HasPrefix(fk, "DelayedRetry.") {
							// A binder that carries out a DelayedRetry
							// supports retry-delays, whether or not it
							// reads the list (the memory binder needs
							// nothing provisioned for it).
							add("ConsumerConfig.RetryDelays", b.typ)
						}
					}
				case types.MethodVal:
					fn, ok := sel.Obj().(*types.Func)
					if !ok || fn.Pkg() == nil || fn.Pkg().Path() != streamPath {
						continue
					}
					recv := fn.Type().(*types.Signature).Recv()
					if recv == nil {
						continue
					}
					if named := namedOf(recv.Type()); named != nil {
						for _, fk := range methodFields[named.Obj().Name()+"."+fn.Name()] {
							add(fk, b.typ)
						}
					}
				}
			}
		}
	}
	return readers, nil
}

// streamField names the field a selection selects, "Type.Field", when the
// struct it belongs to is a named type of package stream.
func streamField(sel *types.Selection, streamPath string) string {
	t := sel.Recv()
	idx := sel.Index()
	for i, x := range idx {
		named := namedOf(t)
		st, ok := t.Underlying().(*types.Struct)
		if p, isPtr := t.Underlying().(*types.Pointer); isPtr {
			named = namedOf(p.Elem())
			st, ok = p.Elem().Underlying().(*types.Struct)
		}
		if !ok || x >= st.NumFields() {
			return ""
		}
		f := st.Field(x)
		if i == len(idx)-1 {
			if named == nil || named.Obj().Pkg() == nil || named.Obj().Pkg().Path() != streamPath {
				return ""
			}
			return named.Obj().Name() + "." + f.Name()
		}
		t = f.Type()
	}
	return ""
}

// namedOf returns t (or what t points to) as a named type, or nil.
func namedOf(t types.Type) *types.Named {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, _ := types.Unalias(t).(*types.Named)
	return n
}

// recvName is the type name of a method receiver expression.
func recvName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return recvName(t.X)
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		return recvName(t.X)
	case *ast.IndexListExpr:
		return recvName(t.X)
	}
	return ""
}

// parseFiles parses the named files of dir.
func parseFiles(fset *token.FileSet, dir string, names []string) ([]*ast.File, error) {
	var out []*ast.File
	for _, n := range names {
		f, err := parseFile(fset, filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}
