// promql-inspect parses PromQL with Prometheus's own parser (the version promtool 2.42 ships)
// and prints, for every expression read from stdin, either its parse error or the vector
// selectors and range windows it uses, so sloverify can lint PromQL without a parser of its own.
//
// Input: a JSON array of strings. Output: a JSON array of results, in the same order.
package main

import (
	"encoding/json"
	"os"

	"github.com/prometheus/prometheus/promql/parser"
)

type matcher struct {
	Name  string `json:"name"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

type selector struct {
	Metric   string    `json:"metric"`
	Matchers []matcher `json:"matchers"`
	Range    float64   `json:"range_seconds"`
	Offset   int       `json:"offset"`
}

type result struct {
	Error     string     `json:"error,omitempty"`
	Selectors []selector `json:"selectors"`
	Functions []string   `json:"functions"`
	Type      string     `json:"type,omitempty"`
}

func inspect(expr string) result {
	out := result{Selectors: []selector{}, Functions: []string{}}
	node, err := parser.ParseExpr(expr)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Type = string(node.Type())
	parser.Inspect(node, func(n parser.Node, path []parser.Node) error {
		switch v := n.(type) {
		case *parser.Call:
			out.Functions = append(out.Functions, v.Func.Name)
		case *parser.VectorSelector:
			s := selector{Metric: v.Name, Matchers: []matcher{}, Offset: int(v.PosRange.Start)}
			for _, m := range v.LabelMatchers {
				if m.Name == "__name__" {
					continue
				}
				s.Matchers = append(s.Matchers, matcher{Name: m.Name, Op: m.Type.String(), Value: m.Value})
			}
			if len(path) > 0 {
				if ms, ok := path[len(path)-1].(*parser.MatrixSelector); ok {
					s.Range = ms.Range.Seconds()
				}
			}
			out.Selectors = append(out.Selectors, s)
		}
		return nil
	})
	return out
}

func main() {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		os.Stderr.WriteString("promql-inspect: stdin must be a JSON array of strings: " + err.Error() + "\n")
		os.Exit(2)
	}
	results := make([]result, 0, len(exprs))
	for _, e := range exprs {
		results = append(results, inspect(e))
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		os.Exit(1)
	}
}
