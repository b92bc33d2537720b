//go:build tools

// Package tools records GoToSocial's command as a dependency of this tool
// module, so that go.sum pins everything its build needs.
package tools

import _ "github.com/superseriousbusiness/gotosocial/cmd/gotosocial"
