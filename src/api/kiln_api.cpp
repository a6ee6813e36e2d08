// placeholder: public API lands with the CLI
