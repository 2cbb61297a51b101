package stream

import "sort"

// FunctionInfo describes one registered function of an app's catalog, as
// GET /actuator/functions serves it.
type FunctionInfo struct {
	Name string `json:"name"`
	// Kind is "supplier", "function" or "consumer".
	Kind string `json:"kind"`
	// InputType and OutputType are the Go types of the function's input
	// and output ("main.Order", "[]uint8" for []byte, "stream.Message[main.Order]");
	// empty for a supplier's input and a consumer's output.
	InputType  string `json:"inputType,omitempty"`
	OutputType string `json:"outputType,omitempty"`
	// Bound is true when stream.function.definition binds the function,
	// alone or in a composition.
	Bound bool `json:"bound"`
	// BoundAs lists the bound functions it is part of: its own name, or
	// compositions such as "parse|enrich".
	BoundAs []string `json:"boundAs,omitempty"`
}

// BoundFunction is one function of stream.function.definition — a
// registered function or a composition — with its bindings.
type BoundFunction struct {
	// Name is the function's name or the composition ("parse|enrich").
	Name string `json:"name"`
	// Kind is "supplier", "function" or "consumer".
	Kind string `json:"kind"`
	// Input and Output are the names of its input and output bindings;
	// empty when it has none (a supplier has no input, a consumer no
	// output).
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
}

// Functions returns every function registered in the app's catalog, sorted
// by name, with its kind, Go types and whether it is bound.
func (a *App) Functions() []FunctionInfo {
	boundAs := map[string][]string{}
	for _, rt := range a.funcs {
		for _, e := range rt.fn.parts {
			boundAs[e.name] = append(boundAs[e.name], rt.fn.name)
		}
	}
	var out []FunctionInfo
	if a.catalog != nil {
		for _, n := range a.catalog.Names() {
			e := a.catalog.entries[n]
			fi := FunctionInfo{Name: n, Kind: e.kind.String(), BoundAs: boundAs[n]}
			fi.Bound = len(fi.BoundAs) > 0
			if e.in.typ != nil {
				fi.InputType = e.in.typ.String()
			}
			if e.out.typ != nil {
				fi.OutputType = e.out.typ.String()
			}
			out = append(out, fi)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BoundFunctions returns the functions stream.function.definition binds, in
// its order, with their bindings.
func (a *App) BoundFunctions() []BoundFunction {
	out := make([]BoundFunction, 0, len(a.funcs))
	for _, rt := range a.funcs {
		bf := BoundFunction{Name: rt.fn.name, Kind: rt.fn.kind.String()}
		if rt.in != nil {
			bf.Input = rt.in.name
		}
		if rt.out != nil {
			bf.Output = rt.out.name
		}
		out = append(out, bf)
	}
	return out
}
