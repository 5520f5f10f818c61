# A shell script actor with no #! line (run by `sh`, from its extension): wraps its input.
printf '{"wrapped":'
cat
printf '}'
