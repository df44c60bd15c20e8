import '../../../../packages/shared/src/redis/redis-connection.ts'; import '../../../../packages/shared/src/search/hamming-scanner.ts'; import '../../../../packages/shared/src/log/logger.ts';
