module tlstests/go

go 1.24
