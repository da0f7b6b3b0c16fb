import EmbCacheCLI

EmbCacheMain.main()
