-- Sample flights for a local stack: real airports, realistic flight
-- numbers, airlines, durations, prices and seat counts, departing over the
-- next 30 days (relative to the day it is loaded). Idempotent: the same
-- flight number on the same UTC date is skipped (flights_number_date_key).
INSERT INTO flights (flight_number, airline, origin, destination, departure_time, arrival_time,
                     price_cents, total_seats)
SELECT r.flight_number, r.airline, r.origin, r.destination,
       ((now() AT TIME ZONE 'UTC')::date + d + r.departs) AT TIME ZONE 'UTC',
       ((now() AT TIME ZONE 'UTC')::date + d + r.departs + r.duration) AT TIME ZONE 'UTC',
       (r.price * 100)::bigint, r.seats
FROM (VALUES
    -- number, airline,              from,  to,    departs (UTC), duration,  price,   seats, first day, every n days
    ('AA100',  'American Airlines',  'JFK', 'LHR', time '22:00', interval '7 hours',             549.00, 300, 1, 10),
    ('AA2',    'American Airlines',  'JFK', 'LAX', time '13:00', interval '6 hours 25 minutes',  329.00, 180, 1, 5),
    ('AA3',    'American Airlines',  'LAX', 'JFK', time '15:30', interval '5 hours 20 minutes',  319.00, 180, 2, 5),
    ('UA523',  'United Airlines',    'ORD', 'SFO', time '14:10', interval '4 hours 35 minutes',  249.00, 180, 3, 10),
    ('UA1',    'United Airlines',    'SFO', 'SIN', time '05:25', interval '16 hours 40 minutes', 1249.00, 300, 5, 10),
    ('DL401',  'Delta Air Lines',    'ATL', 'LAX', time '12:45', interval '4 hours 50 minutes',  289.00, 180, 2, 10),
    ('BA117',  'British Airways',    'LHR', 'JFK', time '08:20', interval '8 hours 10 minutes',  579.00, 300, 2, 10),
    ('AF1780', 'Air France',         'CDG', 'MAD', time '06:45', interval '2 hours 5 minutes',   129.00, 150, 1, 10),
    ('LH400',  'Lufthansa',          'FRA', 'JFK', time '09:55', interval '8 hours 50 minutes',  689.00, 300, 4, 10),
    ('KL1001', 'KLM',                'AMS', 'LHR', time '06:40', interval '1 hour 15 minutes',   119.00, 150, 1, 10),
    ('IB3250', 'Iberia',             'MAD', 'FCO', time '10:05', interval '2 hours 30 minutes',  139.00, 180, 3, 10),
    ('VY8302', 'Vueling',            'BCN', 'AMS', time '16:20', interval '2 hours 20 minutes',   99.00, 180, 2, 10),
    ('AZ608',  'ITA Airways',        'FCO', 'JFK', time '08:40', interval '10 hours',            649.00, 220, 6, 10),
    ('EK1',    'Emirates',           'DXB', 'LHR', time '03:30', interval '7 hours 40 minutes',  799.00, 300, 1, 10),
    ('EK414',  'Emirates',           'DXB', 'SYD', time '05:15', interval '13 hours 55 minutes', 999.00, 300, 7, 10),
    ('SQ322',  'Singapore Airlines', 'SIN', 'LHR', time '15:05', interval '14 hours 20 minutes', 1099.00, 300, 3, 10),
    ('NH110',  'ANA',                'HND', 'JFK', time '02:35', interval '12 hours 45 minutes', 1199.00, 220, 4, 10),
    ('JL43',   'Japan Airlines',     'HND', 'LHR', time '03:10', interval '14 hours 30 minutes', 1150.00, 220, 8, 10),
    ('QF11',   'Qantas',             'SYD', 'LAX', time '01:20', interval '13 hours 40 minutes', 1399.00, 300, 5, 10),
    ('AC856',  'Air Canada',         'YYZ', 'LHR', time '23:55', interval '6 hours 50 minutes',  599.00, 220, 2, 10)
) AS r(flight_number, airline, origin, destination, departs, duration, price, seats, first_day,
       every_days)
CROSS JOIN LATERAL generate_series(r.first_day, 30, r.every_days) AS d
ON CONFLICT DO NOTHING;
