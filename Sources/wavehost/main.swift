print("wavehost")
