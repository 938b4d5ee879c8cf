// Package config holds the service's configuration: one Config built by main from flags and environment
// variables, validated once at startup. No other package reads flags or the environment.
package config
