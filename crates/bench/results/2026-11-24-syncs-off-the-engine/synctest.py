import os, time, sys
path='/tmp/synctest.bin'
fd=os.open(path, os.O_RDWR|os.O_CREAT)
os.ftruncate(fd,0)
os.write(fd, b'\0'*(16<<20)); os.fsync(fd)
def run(fn, n=400, size=8*4096):
    t=[]; off=0
    for i in range(n):
        os.pwrite(fd, os.urandom(size), off); off=(off+size)%(16<<20)
        a=time.perf_counter(); fn(fd); t.append(time.perf_counter()-a)
    t.sort(); return t[len(t)//2]*1000, t[int(len(t)*.9)]*1000
for r in range(3):
    print('fsync p50/p90 ms %.3f %.3f'%run(os.fsync), ' fdatasync p50/p90 ms %.3f %.3f'%run(os.fdatasync))
